package io.pgactive.metrics;

import io.pgactive.conn.LocalServer;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Prometheus endpoint of the worker ({@code pgactive.metrics_port}): pgactive's metrics for
 * every database it manages, and the JVM's (heap, GC, threads), in the text exposition format.
 */
public final class MetricsServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);

    private final HTTPServer http;

    private MetricsServer(HTTPServer http) {
        this.http = http;
    }

    /** Serves on {@code address} ("host:port"); null, with the reason logged, if it cannot. */
    public static MetricsServer start(String address, LocalServer server, Supplier<? extends Iterable<String>> databases) {
        int colon = address.lastIndexOf(':');
        PrometheusRegistry registry = new PrometheusRegistry();
        JvmMetrics.builder().register(registry);
        registry.register(new NodeMetrics(server, databases));
        try {
            HTTPServer http = HTTPServer.builder().hostname(address.substring(0, colon))
                    .port(Integer.parseInt(address.substring(colon + 1))).registry(registry).buildAndStart();
            log.info("serving Prometheus metrics on http://{}/metrics", address);
            return new MetricsServer(http);
        } catch (IOException | RuntimeException e) {
            log.warn("could not serve Prometheus metrics on {}: {}", address, e.getMessage());
            return null;
        }
    }

    @Override
    public void close() {
        http.close();
    }
}
