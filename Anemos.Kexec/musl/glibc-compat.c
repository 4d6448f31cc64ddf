/*
 * The musl variant of the helper links the runtime's static libraries, which are built against
 * glibc, with musl (docs/helper.md, "Variants"). Of everything they call, only glibc's CPU_ALLOC and
 * CPU_FREE are functions musl lacks (its macros allocate inline); these two give them. Any other
 * symbol musl lacks fails the link: a new runtime that needs more is found at build time.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>

cpu_set_t *__sched_cpualloc(size_t count)
{
    return malloc(CPU_ALLOC_SIZE(count));
}

void __sched_cpufree(cpu_set_t *set)
{
    free(set);
}
