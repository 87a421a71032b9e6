package io.pgactive.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one system measured, by key (e.g. {@code bulk.rate}), one value per round in the order
 * taken; printed side by side by {@link Report}.
 */
final class Figures {

    private final Map<String, List<Double>> values = new LinkedHashMap<>();

    void put(String key, double value) {
        values.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        System.out.printf("    %-22s %,.2f%n", key, value);
    }

    /** The median over the rounds; null when the workload did not run or the figure could not be taken. */
    Double get(String key) {
        List<Double> taken = all(key);
        return taken.isEmpty() ? null : median(taken);
    }

    /** The largest over the rounds (a peak of peaks); null as for {@link #get}. */
    Double max(String key) {
        return all(key).stream().max(Double::compare).orElse(null);
    }

    /** Every round's value, in the order taken. */
    List<Double> all(String key) {
        return values.getOrDefault(key, List.of());
    }

    static double median(List<Double> numbers) {
        List<Double> sorted = numbers.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
