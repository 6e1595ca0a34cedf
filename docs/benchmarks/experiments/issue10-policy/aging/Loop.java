import dev.hourglass.cache.*;
public class Loop {
  public static void main(String[] a) {
    for (int stripes : new int[] {1, 2, 8, 32}) {
      for (int size : new int[] {2500, 10000}) {
        Cache<Object, Object> cache = Hourglass.newBuilder().maximumSize(size).concurrencyLevel(stripes)
            .executor(Runnable::run).scheduler(Scheduler.disabledScheduler()).build();
        long hits = 0, n = 1_000_000;
        for (int i = 0; i < n; i++) { Integer k = i % 10500; if (cache.getIfPresent(k) != null) hits++; else cache.put(k, k); }
        System.out.printf("stripes %d size %d hit %.1f%n", stripes, size, 100.0 * hits / n);
      }
    }
  }
}
