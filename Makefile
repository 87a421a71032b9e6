# pgactive (Java): build and install.
#
#   make                 build the worker jar and the launcher library
#   make install         install control file, SQL script, pgactive.so and the jar (as root)
#   make check           run all tests (needs `make install` first; scripts/test.sh does both)
#   make chaos           randomized convergence test under chaos, DURATION=300 (seconds) long, seeded (SEED=<n> replays a run)
#   make bench           pgactive vs native logical replication, every workload: about 30 min (QUICK=1: about 5)
#   make bench-decoder   pgoutput decoder throughput over captured bytes
#
# PG_CONFIG chooses the PostgreSQL installation, as for any PGXS extension.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config
MVN ?= mvn -B -q

SHAREDIR := $(shell $(PG_CONFIG) --sharedir)
EXTENSION_DIR := $(DESTDIR)$(SHAREDIR)/extension
JAR_DIR := $(DESTDIR)$(SHAREDIR)/pgactive
WORKER_JAR := worker/target/pgactive-worker.jar
JAVA_SOURCES := $(shell find worker/src/main -type f) worker/pom.xml pom.xml

.PHONY: all jar launcher install check chaos bench bench-decoder clean

all: jar launcher

jar: $(WORKER_JAR)

$(WORKER_JAR): $(JAVA_SOURCES)
	$(MVN) -pl worker -am package -DskipTests

launcher:
	$(MAKE) -C launcher PG_CONFIG=$(PG_CONFIG)

install: all
	$(MAKE) -C launcher PG_CONFIG=$(PG_CONFIG) install
	install -d $(EXTENSION_DIR) $(JAR_DIR)
	install -m 644 control/pgactive.control sql/pgactive--*.sql $(EXTENSION_DIR)/
	install -m 644 $(WORKER_JAR) $(JAR_DIR)/pgactive-worker.jar

check:
	PG_CONFIG=$(PG_CONFIG) mvn -B verify

# RandomizedConvergenceTest, longer than in `make check`. The seed comes from the clock unless
# SEED is given; it is printed first, so `make chaos SEED=<n>` replays the choices of a failed run.
# TOAST=false keeps every value inline (tells failures that need out-of-line values apart).
DURATION ?= 300
chaos:
	@seed=$(or $(SEED),$$(date +%s)); \
	echo "make chaos: seed=$$seed seconds=$(DURATION) (replay: make chaos SEED=$$seed DURATION=$(DURATION))"; \
	PG_CONFIG=$(PG_CONFIG) mvn -B verify -pl harness,tests -Dtest=RandomizedConvergenceTest \
		-Dsurefire.failIfNoSpecifiedTests=false -Dpgactive.chaos.seed=$$seed -Dpgactive.chaos.seconds=$(DURATION) \
		$(if $(TOAST),-Dpgactive.chaos.toast=$(TOAST))

# Starts its own clusters on loopback ports and stops them; results in bench/results/.
bench: install
	$(MVN) -pl bench -am package -DskipTests
	java -jar bench/target/pgactive-bench.jar $(if $(QUICK),--quick) --out bench/results

# Decoder throughput over captured pgoutput bytes (no cluster needed).
bench-decoder:
	$(MVN) -pl bench -am package -DskipTests
	java -cp bench/target/classes:worker/target/pgactive-worker.jar io.pgactive.bench.DecoderBench worker/src/test/resources/pgoutput

clean:
	$(MAKE) -C launcher PG_CONFIG=$(PG_CONFIG) clean
	mvn -B -q clean
