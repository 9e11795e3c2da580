# Convenience targets; the build itself is meson/ninja in $(BUILD).
BUILD ?= build
NINJA ?= ninja
GUEST ?= $(BUILD)/guest

.PHONY: all deps test-deps check run install clean distclean guest

all: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

$(BUILD)/build.ninja:
	./configure --builddir=$(BUILD)

check: test-deps all
	@scripts/run-tests.sh $(BUILD)

guest: test-deps
	tests/guest/build.sh $(GUEST)

run: all guest
	$(BUILD)/kemu-system-x86_64 -m 256 -nographic \
	    -kernel $(GUEST)/vmlinuz -initrd $(GUEST)/initramfs.cpio.gz \
	    -append "console=ttyS0"

install: all
	meson install -C $(BUILD)

clean:
	-$(NINJA) -C $(BUILD) clean

distclean:
	rm -rf $(BUILD)
