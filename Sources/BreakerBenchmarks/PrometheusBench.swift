import CoreMetrics
import Prometheus

/// A Prometheus metrics factory of its own, as `serve` makes (for `bench keys --prometheus`).
enum PrometheusBench {
    static func factory() -> any MetricsFactory {
        PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
    }
}
