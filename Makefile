# vdc - top-level wrapper around Meson and the scripts in scripts/.
#   make          build
#   make run      install what is needed, build, start the agent, boot a VM, show it
#   make stop     stop what `make run` started
#   make test     install, build and run every test; ends with "N passed, N failed"
#   make bench    run the benchmarks (B=vm-start for one)
CACHE ?= /var/cache/vdc
export VDC_CACHE := $(CACHE)

.PHONY: all build deps guest cloud-image run stop test bench clean

all: build

build:
	scripts/build.sh build

deps:
	scripts/install-deps.sh

guest:
	guest/build-test-guest.sh $(CACHE)
	guest/build-disk-guest.sh $(CACHE)
	guest/build-installer-iso.sh $(CACHE)

cloud-image:
	guest/build-cloud-image.sh $(CACHE)

run:
	scripts/run.sh

stop:
	scripts/stop.sh

test:
	scripts/test.sh

bench:
	scripts/install-deps.sh
	scripts/build.sh build
	guest/build-test-guest.sh $(CACHE)
	bench/run.sh $(B)

clean:
	rm -rf build build-san build-unit build-fuzz
