/*
 * threads.c - a native sample for dumpdbg that knows its own ground truth.
 *
 * Build:  gcc -g -O0 -pthread -o threads threads.c        (add -m32 for a 32-bit build)
 * Run:    ./threads live  FACTS.json   # 3 named workers + main block forever; take a core with gcore
 *         ./threads crash FACTS.json   # same setup, then worker-2 writes through a NULL struct
 *                                      # pointer in dumpdbg_crash_here(): SIGSEGV at address 0x10
 *
 * The program writes FACTS.json (atomically: FACTS.json.tmp, then rename) once every worker has
 * published its stack marker, and only then blocks (live) or crashes (crash). A script waits for
 * the file and then dumps the process. All values below are fixed; only addresses, pids and tids
 * vary from run to run, and those are in the facts file.
 *
 * What is in memory (what a debugger should find in the core):
 *   - global `dumpdbg_global` (struct dumpdbg_global): magic 0x1122334455667788, pattern[64] with
 *     pattern[i] = (i * 7 + 3) & 0xff, tag "dumpdbg-global-struct", magic2 0x8877665544332211
 *   - worker i (1..3), thread named "worker-<i>", in frame worker_main() a local
 *     `volatile uint64_t marker[4]` with marker[k] = 0xD0DB600000000000 | (i << 8) | k
 *     and a local `char text[32]` = "dumpdbg-marker-<i>"
 *     It then blocks in worker_block() (read() on a pipe that is never written).
 *   - heap string (malloc) "dumpdbg-heap-string-0123456789"
 *   - main thread blocks in main_block() (pause()).
 *   - crash mode: before crashing, worker-2 waits until main sits in pause and workers 1 and 3 in
 *     read (it polls /proc/self/task/<tid>/syscall); the facts file gives each thread's syscall
 *     number so that a script can wait the same way before it runs gcore on the live program.
 *   - mallopt(M_ARENA_MAX, 1): no per-thread malloc arenas, whose 64 MiB reservations would make a
 *     gcore 200 MB instead of 1.5 MB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NWORKERS 3
#define MARKER_BASE 0xD0DB600000000000ULL
#define NMARK 4
#define WORKER_STACK (256 * 1024)

struct dumpdbg_global {
    uint64_t magic;          /* 0x1122334455667788 */
    unsigned char pattern[64];
    char tag[32];            /* "dumpdbg-global-struct" */
    uint64_t magic2;         /* 0x8877665544332211 */
};

struct dumpdbg_global dumpdbg_global = { 0x1122334455667788ULL, {0}, "dumpdbg-global-struct",
                                         0x8877665544332211ULL };

struct worker_info {
    int index;                       /* 1..NWORKERS */
    pid_t tid;
    char name[16];
    volatile uint64_t *marker_addr;  /* &marker[0] on the worker's stack */
    uint64_t marker[NMARK];
    char *text_addr;                 /* &text[0] on the worker's stack */
    char text[32];
    void *stack_lo, *stack_hi;       /* pthread_getattr_np stack range */
    void *frame_addr;                /* __builtin_frame_address(0) in worker_main */
};

static struct worker_info workers[NWORKERS];
static pthread_barrier_t ready;      /* NWORKERS workers + main */
static pthread_barrier_t crash_go;   /* crash mode: main + worker-2, after the facts are on disk */
static int block_pipe[2];            /* never written: workers block reading it */
static int crash_mode;
static pid_t main_tid;
static const char *crash_function = "dumpdbg_crash_here";
static const uintptr_t crash_address = 0x10;

struct crash_victim { uint64_t a, b; int field_at_0x10; };

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* Wait (up to 5 s) until thread `tid` sits in system call `nr` (per /proc/self/task/<tid>/syscall),
 * so that every thread is in its final blocking frame when the process is dumped. */
static void wait_in_syscall(pid_t tid, long nr)
{
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(path, "r");
        if (!f) return;                      /* not readable here: give up quietly */
        int ok = fgets(buf, sizeof buf, f) != NULL;
        fclose(f);
        if (ok && buf[0] != 'r' && strtol(buf, NULL, 10) == nr) return;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

__attribute__((noinline)) void dumpdbg_crash_here(struct crash_victim *p)
{
    p->field_at_0x10 = 42;           /* p == NULL: SIGSEGV, si_addr = 0x10 */
}

__attribute__((noinline)) static void worker_block(void)
{
    char c;
    for (;;) {
        ssize_t n = read(block_pipe[0], &c, 1);
        if (n < 0 && errno == EINTR) continue;
        pause();
    }
}

__attribute__((noinline)) static void *worker_main(void *arg)
{
    struct worker_info *w = arg;
    volatile uint64_t marker[NMARK];
    char text[32];
    pthread_attr_t attr;
    void *stk; size_t stksz;

    snprintf(w->name, sizeof w->name, "worker-%d", w->index);
    pthread_setname_np(pthread_self(), w->name);
    w->tid = gettid_();
    for (int k = 0; k < NMARK; k++) {
        marker[k] = MARKER_BASE | ((uint64_t)w->index << 8) | (uint64_t)k;
        w->marker[k] = marker[k];
    }
    memset(text, 0, sizeof text);
    snprintf(text, sizeof text, "dumpdbg-marker-%d", w->index);
    memcpy(w->text, text, sizeof text);
    w->marker_addr = marker;
    w->text_addr = text;
    w->frame_addr = __builtin_frame_address(0);
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &stk, &stksz);
        w->stack_lo = stk; w->stack_hi = (char *)stk + stksz;
        pthread_attr_destroy(&attr);
    }
    pthread_barrier_wait(&ready);            /* facts get written after this */
    if (crash_mode && w->index == 2) {
        pthread_barrier_wait(&crash_go);     /* the facts file is on disk */
        wait_in_syscall(main_tid, SYS_pause);
        wait_in_syscall(workers[0].tid, SYS_read);
        wait_in_syscall(workers[2].tid, SYS_read);
        dumpdbg_crash_here(NULL);
    }
    worker_block();
    /* keep the locals alive */
    return (void *)(uintptr_t)(marker[0] + (uint64_t)text[0]);
}

__attribute__((noinline)) static void main_block(void)
{
    for (;;) pause();
}

static void thread_comm(pid_t tid, char *out, size_t n)
{
    char path[64]; FILE *f;
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    out[0] = 0;
    if ((f = fopen(path, "r")) != NULL) {
        if (fgets(out, (int)n, f)) out[strcspn(out, "\n")] = 0;
        fclose(f);
    }
}

static void *exe_base(void)
{
    /* first mapping of the executable in /proc/self/maps */
    char exe[4096], line[4608]; void *base = NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    FILE *f = fopen("/proc/self/maps", "r");
    if (n <= 0 || !f) { if (f) fclose(f); return NULL; }
    exe[n] = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo; char *p = strchr(line, '/');
        if (p) { p[strcspn(p, "\n")] = 0; }
        if (p && strcmp(p, exe) == 0 && sscanf(line, "%lx-", &lo) == 1) { base = (void *)lo; break; }
    }
    fclose(f);
    return base;
}

#define PTR(x) ((unsigned long long)(uintptr_t)(x))

static int write_facts(const char *path, const char *heap_string, pid_t mtid)
{
    char tmp[4096], name[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) { perror(tmp); return -1; }
    fprintf(f, "{\n");
    fprintf(f, "  \"program\": \"threads\",\n");
    fprintf(f, "  \"mode\": \"%s\",\n", crash_mode ? "crash" : "live");
    fprintf(f, "  \"pointer_size\": %d,\n", (int)sizeof(void *));
    fprintf(f, "  \"pid\": %d,\n", (int)getpid());
    fprintf(f, "  \"exe_base\": \"0x%llx\",\n", PTR(exe_base()));
    thread_comm(mtid, name, sizeof name);
    fprintf(f, "  \"main_thread\": { \"tid\": %d, \"name\": \"%s\", \"blocked_in\": \"main_block\", "
               "\"syscall\": \"pause\", \"syscall_nr\": %d },\n",
            (int)mtid, name, (int)SYS_pause);
    fprintf(f, "  \"thread_count\": %d,\n", NWORKERS + 1);
    fprintf(f, "  \"global\": {\n");
    fprintf(f, "    \"symbol\": \"dumpdbg_global\",\n");
    fprintf(f, "    \"address\": \"0x%llx\",\n", PTR(&dumpdbg_global));
    fprintf(f, "    \"size\": %zu,\n", sizeof dumpdbg_global);
    fprintf(f, "    \"magic\": \"0x%016llx\", \"magic_offset\": %zu,\n",
            (unsigned long long)dumpdbg_global.magic, offsetof(struct dumpdbg_global, magic));
    fprintf(f, "    \"pattern_offset\": %zu, \"pattern_rule\": \"pattern[i] = (i*7+3) & 0xff, i=0..63\",\n",
            offsetof(struct dumpdbg_global, pattern));
    fprintf(f, "    \"pattern_hex\": \"");
    for (int i = 0; i < 64; i++) fprintf(f, "%02x", dumpdbg_global.pattern[i]);
    fprintf(f, "\",\n");
    fprintf(f, "    \"tag\": \"%s\", \"tag_offset\": %zu,\n", dumpdbg_global.tag,
            offsetof(struct dumpdbg_global, tag));
    fprintf(f, "    \"magic2\": \"0x%016llx\", \"magic2_offset\": %zu\n",
            (unsigned long long)dumpdbg_global.magic2, offsetof(struct dumpdbg_global, magic2));
    fprintf(f, "  },\n");
    fprintf(f, "  \"heap_string\": { \"address\": \"0x%llx\", \"value\": \"%s\" },\n",
            PTR(heap_string), heap_string);
    fprintf(f, "  \"workers\": [\n");
    for (int i = 0; i < NWORKERS; i++) {
        struct worker_info *w = &workers[i];
        thread_comm(w->tid, name, sizeof name);
        fprintf(f, "    { \"index\": %d, \"tid\": %d, \"name\": \"%s\", \"function\": \"worker_main\", "
                   "\"blocked_in\": \"%s\", \"syscall\": \"%s\", \"syscall_nr\": %d,\n",
                w->index, (int)w->tid, name,
                (crash_mode && w->index == 2) ? crash_function : "worker_block",
                (crash_mode && w->index == 2) ? "none" : "read",
                (crash_mode && w->index == 2) ? -1 : (int)SYS_read);
        fprintf(f, "      \"marker_address\": \"0x%llx\", \"marker_values\": [", PTR(w->marker_addr));
        for (int k = 0; k < NMARK; k++)
            fprintf(f, "%s\"0x%016llx\"", k ? ", " : "", (unsigned long long)w->marker[k]);
        fprintf(f, "],\n");
        fprintf(f, "      \"string_address\": \"0x%llx\", \"string\": \"%s\",\n", PTR(w->text_addr), w->text);
        fprintf(f, "      \"frame_address\": \"0x%llx\", \"stack_lo\": \"0x%llx\", \"stack_hi\": \"0x%llx\" }%s\n",
                PTR(w->frame_addr), PTR(w->stack_lo), PTR(w->stack_hi), i + 1 < NWORKERS ? "," : "");
    }
    fprintf(f, "  ]");
    if (crash_mode) {
        fprintf(f, ",\n  \"crash\": { \"signal\": 11, \"signal_name\": \"SIGSEGV\", \"si_code\": 1, "
                   "\"fault_address\": \"0x%llx\", \"function\": \"%s\", \"function_address\": \"0x%llx\", "
                   "\"thread_name\": \"worker-2\", \"tid\": %d }",
                (unsigned long long)crash_address, crash_function, PTR(&dumpdbg_crash_here),
                (int)workers[1].tid);
    }
    fprintf(f, "\n}\n");
    if (fclose(f) != 0) { perror(tmp); return -1; }
    if (rename(tmp, path) != 0) { perror(path); return -1; }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "live") && strcmp(argv[1], "crash"))) {
        fprintf(stderr, "usage: %s live|crash FACTS.json\n", argv[0]);
        return 2;
    }
    crash_mode = strcmp(argv[1], "crash") == 0;
    main_tid = gettid_();
    mallopt(M_ARENA_MAX, 1);         /* no per-thread malloc arenas (64 MiB reservations each in a gcore) */
    for (int i = 0; i < 64; i++) dumpdbg_global.pattern[i] = (unsigned char)((i * 7 + 3) & 0xff);
    char *heap_string = malloc(64);
    strcpy(heap_string, "dumpdbg-heap-string-0123456789");
    if (pipe(block_pipe) != 0) { perror("pipe"); return 1; }
    pthread_barrier_init(&ready, NULL, NWORKERS + 1);
    pthread_barrier_init(&crash_go, NULL, 2);

    pthread_t th[NWORKERS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);   /* small stacks: small cores */
    for (int i = 0; i < NWORKERS; i++) {
        workers[i].index = i + 1;
        if (pthread_create(&th[i], &attr, worker_main, &workers[i]) != 0) { perror("pthread_create"); return 1; }
    }
    pthread_attr_destroy(&attr);
    pthread_barrier_wait(&ready);
    /* all workers have published their markers */
    if (write_facts(argv[2], heap_string, main_tid) != 0) return 1;
    printf("threads: pid %d mode %s facts %s\n", (int)getpid(), argv[1], argv[2]);
    fflush(stdout);
    if (crash_mode) pthread_barrier_wait(&crash_go);
    main_block();
    free(heap_string);
    return 0;
}
