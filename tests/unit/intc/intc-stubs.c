/* Stand-ins for the main loop and the vCPU threads in the intc unit tests. */
#include "hw/i386/cpu.h"
#include "system/main-loop.h"

X86CPU *test_current_cpu;

void main_loop_wakeup(void)
{
}

X86CPU *current_cpu(void)
{
    return test_current_cpu;
}
