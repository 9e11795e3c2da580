/*
 * cpuid.c: what CPUID tells the guest (Intel SDM Vol. 2A, CPUID): the vendor string, the
 * family/model signature and brand string of the CPU model, the hypervisor bit, and the
 * topology of -smp in leaf 1 (EBX: logical processors per package, initial APIC ID) and leaf
 * 0xB (x2APIC topology: SMT and core levels).  Expectations come from the command line:
 *   vendor=STR family=N model=N brand=FIRSTWORD threads=N cores=N nosse4=1
 *   kvmclock=1 (the KVM leaves: signature "KVMKVMKVM" at 0x40000000 and the kvmclock feature
 *   bit KVM_FEATURE_CLOCKSOURCE2 in 0x40000001 EAX, per Documentation/virt/kvm/x86/cpuid.rst)
 */
#include "lib/libk.h"

TEST_NAME("cpuid");

static void regs_str(uint32_t r, char *out)
{
    for (int i = 0; i < 4; i++) {
        out[i] = (char)(r >> (8 * i));
    }
}

int main(void)
{
    uint32_t a, b, c, d;
    char vendor[13], brand[49], want[64];

    cpuid(0, &a, &b, &c, &d);
    uint32_t max_leaf = a;
    regs_str(b, vendor);
    regs_str(d, vendor + 4);
    regs_str(c, vendor + 8);
    vendor[12] = 0;

    cpuid(1, &a, &b, &c, &d);
    uint32_t family = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
    if (family == 0xf) {
        family += (a >> 20) & 0xff;
    }
    if (family == 0x6 || family >= 0xf) {
        model |= ((a >> 16) & 0xf) << 4;
    }
    uint32_t leaf1_ebx = b, leaf1_ecx = c;

    brand[0] = 0;
    cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000004) {
        for (uint32_t l = 0; l < 3; l++) {
            cpuid(0x80000002 + l, &a, &b, &c, &d);
            regs_str(a, brand + 16 * l);
            regs_str(b, brand + 16 * l + 4);
            regs_str(c, brand + 16 * l + 8);
            regs_str(d, brand + 16 * l + 12);
        }
        brand[48] = 0;
    }
    printf("vendor \"%s\" family %u model %u max leaf 0x%x\n", vendor, family, model, max_leaf);
    printf("brand \"%s\"\n", brand);
    printf("leaf 1: ebx 0x%08x ecx 0x%08x, APIC ID %u\n", leaf1_ebx, leaf1_ecx, lapic_id());

    CHECK(leaf1_ecx & (1u << 31), "hypervisor bit (leaf 1 ECX[31]) not set");
    CHECK((leaf1_ebx >> 24) == lapic_id(), "leaf 1 initial APIC ID %u != LAPIC ID %u",
          leaf1_ebx >> 24, lapic_id());
    if (cmdline_get("vendor", want, sizeof(want))) {
        CHECK(!strcmp(vendor, want), "vendor \"%s\", expected \"%s\"", vendor, want);
    }
    long f = cmdline_int("family", -1), m = cmdline_int("model", -1);
    CHECK(f < 0 || (long)family == f, "family %u, expected %ld", family, f);
    CHECK(m < 0 || (long)model == m, "model %u, expected %ld", model, m);
    if (cmdline_get("brand", want, sizeof(want))) {
        CHECK(!strncmp(brand, want, strlen(want)), "brand \"%s\" does not start with \"%s\"",
              brand, want);
    }
    if (cmdline_int("nosse4", 0)) {
        CHECK(!(leaf1_ecx & ((1u << 19) | (1u << 20))), "SSE4.1/4.2 offered by this model");
    }
    if (cmdline_int("kvmclock", 0)) {
        char sig[13];
        cpuid(0x40000000, &a, &b, &c, &d);
        regs_str(b, sig);
        regs_str(c, sig + 4);
        regs_str(d, sig + 8);
        sig[12] = 0;
        printf("hypervisor leaf 0x40000000: \"%s\" max 0x%x\n", sig, a);
        CHECK(!strcmp(sig, "KVMKVMKVM"), "no KVM signature at CPUID 0x40000000");
        CHECK(a >= 0x40000001, "no KVM feature leaf");
        cpuid(0x40000001, &a, &b, &c, &d);
        printf("KVM features 0x%08x\n", a);
        CHECK(a & (1u << 3), "KVM_FEATURE_CLOCKSOURCE2 (kvmclock) not offered");
    }
    long threads = cmdline_int("threads", 0), cores = cmdline_int("cores", 0);
    if (threads > 0 && cores > 0) {
        uint32_t logical = (leaf1_ebx >> 16) & 0xff;
        CHECK((long)logical >= threads * cores, "leaf 1 says %u logical CPUs per package, "
              "-smp gives %ld", logical, threads * cores);
        CHECK(max_leaf >= 0xb, "no leaf 0xB");
        cpuid_count(0xb, 0, &a, &b, &c, &d);
        printf("leaf 0xB.0: eax %u ebx %u ecx 0x%x; ", a, b, c);
        CHECK((long)(b & 0xffff) == threads, "SMT level has %u threads, expected %ld",
              b & 0xffff, threads);
        CHECK(((c >> 8) & 0xff) == 1, "leaf 0xB.0 level type %u is not SMT", (c >> 8) & 0xff);
        cpuid_count(0xb, 1, &a, &b, &c, &d);
        printf("leaf 0xB.1: eax %u ebx %u ecx 0x%x\n", a, b, c);
        CHECK((long)(b & 0xffff) == threads * cores, "core level has %u CPUs, expected %ld",
              b & 0xffff, threads * cores);
        CHECK(((c >> 8) & 0xff) == 2, "leaf 0xB.1 level type %u is not core", (c >> 8) & 0xff);
    }
    return 0;
}
