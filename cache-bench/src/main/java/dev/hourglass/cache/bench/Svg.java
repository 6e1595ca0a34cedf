package dev.hourglass.cache.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Minimal SVG charts, written by hand so the benchmarks need no charting library. */
final class Svg {
  private Svg() {}

  static final String[] COLORS = {"#d62728", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd", "#ff7f0e"};

  /** Grouped bars on a log10 axis: one group per category, one bar per series. */
  static String groupedBarsLog(String title, String unit, List<String> categories,
      List<String> series, Map<String, Map<String, Double>> values) {
    int width = 120 + categories.size() * (series.size() * 18 + 30);
    int height = 360;
    int left = 70;
    int top = 40;
    int plotHeight = 240;
    double max = 1;
    double min = Double.MAX_VALUE;
    for (Map<String, Double> bySeries : values.values()) {
      for (double v : bySeries.values()) {
        if (v > 0) {
          max = Math.max(max, v);
          min = Math.min(min, v);
        }
      }
    }
    double lo = Math.floor(Math.log10(Math.max(min, 1e-9)));
    double hi = Math.ceil(Math.log10(max));
    if (hi <= lo) {
      hi = lo + 1;
    }
    StringBuilder svg = header(width, height, title);
    for (double decade = lo; decade <= hi; decade++) {
      double y = top + plotHeight - (decade - lo) / (hi - lo) * plotHeight;
      svg.append(String.format(Locale.ROOT,
          "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>"
              + "<text x='%d' y='%.1f' font-size='11' text-anchor='end'>1e%d</text>%n",
          left, y, width - 20, y, left - 5, y + 4, (int) decade));
    }
    svg.append(String.format(Locale.ROOT,
        "<text x='15' y='%d' font-size='12' transform='rotate(-90 15 %d)'>%s (log scale)</text>%n",
        top + plotHeight / 2 + 60, top + plotHeight / 2 + 60, escape(unit)));
    int x = left + 15;
    for (String category : categories) {
      Map<String, Double> bySeries = values.getOrDefault(category, Map.of());
      int groupStart = x;
      for (int s = 0; s < series.size(); s++) {
        Double v = bySeries.get(series.get(s));
        if ((v != null) && (v > 0)) {
          double h = (Math.log10(v) - lo) / (hi - lo) * plotHeight;
          svg.append(String.format(Locale.ROOT,
              "<rect x='%d' y='%.1f' width='16' height='%.1f' fill='%s'><title>%s %s: %.3g</title></rect>%n",
              x, top + plotHeight - h, h, COLORS[s % COLORS.length], escape(series.get(s)),
              escape(category), v));
        }
        x += 18;
      }
      svg.append(String.format(Locale.ROOT,
          "<text x='%d' y='%d' font-size='11' text-anchor='middle'>%s</text>%n",
          (groupStart + x) / 2, top + plotHeight + 16, escape(category)));
      x += 30;
    }
    legend(svg, series, left, height - 40);
    return svg.append("</svg>\n").toString();
  }

  /** Lines of percentages over categorical x values. */
  static String lines(String title, String xLabel, List<String> xs, List<String> series,
      Map<String, double[]> values) {
    int width = 620;
    int height = 380;
    int left = 60;
    int top = 40;
    int plotWidth = width - left - 30;
    int plotHeight = 250;
    StringBuilder svg = header(width, height, title);
    for (int pct = 0; pct <= 100; pct += 20) {
      double y = top + plotHeight - pct / 100.0 * plotHeight;
      svg.append(String.format(Locale.ROOT,
          "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>"
              + "<text x='%d' y='%.1f' font-size='11' text-anchor='end'>%d%%</text>%n",
          left, y, left + plotWidth, y, left - 5, y + 4, pct));
    }
    for (int i = 0; i < xs.size(); i++) {
      double x = left + (xs.size() == 1 ? plotWidth / 2.0 : i * plotWidth / (double) (xs.size() - 1));
      svg.append(String.format(Locale.ROOT,
          "<text x='%.1f' y='%d' font-size='11' text-anchor='middle'>%s</text>%n",
          x, top + plotHeight + 16, escape(xs.get(i))));
    }
    svg.append(String.format(Locale.ROOT,
        "<text x='%d' y='%d' font-size='12' text-anchor='middle'>%s</text>%n",
        left + plotWidth / 2, top + plotHeight + 34, escape(xLabel)));
    for (int s = 0; s < series.size(); s++) {
      double[] ys = values.get(series.get(s));
      if (ys == null) {
        continue;
      }
      StringBuilder points = new StringBuilder();
      for (int i = 0; i < ys.length; i++) {
        double x = left + (xs.size() == 1 ? plotWidth / 2.0 : i * plotWidth / (double) (xs.size() - 1));
        double y = top + plotHeight - ys[i] * plotHeight;
        points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        svg.append(String.format(Locale.ROOT,
            "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'><title>%s: %.2f%%</title></circle>%n",
            x, y, COLORS[s % COLORS.length], escape(series.get(s)), ys[i] * 100));
      }
      svg.append(String.format(Locale.ROOT,
          "<polyline points='%s' fill='none' stroke='%s' stroke-width='2'/>%n",
          points.toString().trim(), COLORS[s % COLORS.length]));
    }
    legend(svg, series, left, height - 30);
    return svg.append("</svg>\n").toString();
  }

  private static StringBuilder header(int width, int height, String title) {
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT,
        "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>%n"
            + "<rect width='100%%' height='100%%' fill='white'/>%n"
            + "<text x='%d' y='22' font-size='15' text-anchor='middle'>%s</text>%n",
        width, height, width / 2, escape(title)));
    return svg;
  }

  private static void legend(StringBuilder svg, List<String> series, int x, int y) {
    for (int s = 0; s < series.size(); s++) {
      svg.append(String.format(Locale.ROOT,
          "<rect x='%d' y='%d' width='12' height='12' fill='%s'/>"
              + "<text x='%d' y='%d' font-size='12'>%s</text>%n",
          x + s * 120, y, COLORS[s % COLORS.length], x + s * 120 + 16, y + 11,
          escape(series.get(s))));
    }
  }

  static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;");
  }
}
