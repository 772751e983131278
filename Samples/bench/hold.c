/* hold.c - holds N MiB of touched heap memory and waits, so that gcore can write a big real core.
 * Usage: hold MIB   (prints its pid, then pauses until killed) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
    size_t n = mib << 20;
    unsigned char *p = malloc(n);
    if (!p) { perror("malloc"); return 1; }
    for (size_t i = 0; i < n; i += 4096) p[i] = (unsigned char)(i >> 12);  /* touch every page */
    printf("%d\n", (int)getpid());
    fflush(stdout);
    pause();
    return 0;
}
