/* Before Main, NativeAOT's start-up code (RehydrateData) writes the .hydrated section: ~5 MB of
 * zero-filled memory, every page of it. On a VM each first touch of a 4 KiB page is a page fault of
 * 11-20 us, ~1,300 of them per start; in 2 MiB pages the same memory costs a few faults (bench/README.md,
 * "Transparent huge pages for .hydrated"). hydrated.ld puts the section on a 2 MiB boundary; this
 * constructor, which runs before main and so before the runtime, asks for huge pages there and fills
 * the section in one call. The section is written in full anyway, so neither call adds to RSS; both
 * are hints: where THP is off or the kernel lacks either advice, madvise fails and nothing changes. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Defined by hydrated.ld. */
extern char __hydrated_start[] __attribute__((visibility("hidden")));
extern char __hydrated_end[] __attribute__((visibility("hidden")));

__attribute__((constructor)) static void back_hydrated_with_huge_pages(void)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)__hydrated_start & ~(page - 1);
    uintptr_t end = ((uintptr_t)__hydrated_end + page - 1) & ~(page - 1);
    if (end <= start)
        return;
    madvise((void *)start, end - start, MADV_HUGEPAGE);
    /* The whole 2 MiB pages come in as huge pages; the tail that is less than one comes in as 4 KiB
     * pages, at about half the cost of faulting them one by one. */
    madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}
