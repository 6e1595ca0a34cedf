package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The per-stripe frequency sketch: estimates, saturation, growth and the shared aging. */
class FrequencySketchTest {

  @Test
  void counts_upToFifteen_andNeverUnderestimate() {
    FrequencySketch sketch = new FrequencySketch(1_000, new FrequencySketch.Aging());
    for (int i = 1; i <= 20; i++) {
      sketch.increment(42);
      assertThat(sketch.frequency(42)).isEqualTo(Math.min(i, FrequencySketch.MAX_COUNT));
    }
    for (int key = 0; key < 1_000; key++) {
      if (key != 42) {
        sketch.increment(key * 0x9E3779B9);
      }
    }
    for (int key = 0; key < 1_000; key++) {
      if (key != 42) {
        assertThat(sketch.frequency(key * 0x9E3779B9)).as("key %d", key).isPositive();
      }
    }
  }

  @Test
  void growing_keepsEveryEstimate() {
    FrequencySketch sketch = new FrequencySketch(16, new FrequencySketch.Aging());
    int[] counts = new int[500];
    for (int key = 0; key < counts.length; key++) {
      counts[key] = key % 7;
      sketch.increment(key, counts[key]);
    }
    int[] before = new int[counts.length];
    for (int key = 0; key < counts.length; key++) {
      before[key] = sketch.frequency(key);
    }
    int length = sketch.length();
    sketch.ensureCapacity(100_000);
    assertThat(sketch.length()).isGreaterThan(length);
    for (int key = 0; key < counts.length; key++) {
      assertThat(sketch.frequency(key)).as("key %d", key).isEqualTo(before[key]);
    }
  }

  /**
   * Two stripes' sketches age together: increments counted in one open the epoch that halves
   * the other, which has counted nothing since, when it next estimates.
   */
  @Test
  void sketchesOfOneCache_halveTogether() {
    FrequencySketch.Aging aging = new FrequencySketch.Aging();
    FrequencySketch busy = new FrequencySketch(100, aging);
    FrequencySketch quiet = new FrequencySketch(100, aging);
    quiet.increment(7, 8);
    assertThat(quiet.frequency(7)).isEqualTo(8);
    int key = 0;
    while (aging.epoch() == 0) { // the sketches are sized for 200 entries: about 2,000 increments
      busy.increment(key++ * 0x9E3779B9);
      assertThat(key).as("increments before the first epoch").isLessThan(10_000);
    }
    assertThat(quiet.frequency(7)).as("halved with the busy stripe's epoch").isEqualTo(4);
  }
}
