package io.pgactive.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/** What one system measured, by key (e.g. {@code bulk.rate}); printed side by side by {@link Report}. */
final class Figures {

    private final Map<String, Double> values = new LinkedHashMap<>();

    void put(String key, double value) {
        values.put(key, value);
        System.out.printf("    %-22s %,.2f%n", key, value);
    }

    /** Null when the workload did not run or the figure could not be taken. */
    Double get(String key) {
        return values.get(key);
    }
}
