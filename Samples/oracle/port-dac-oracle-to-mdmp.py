# port-dac-oracle-to-mdmp.py - turns ../shared/labs/dac-oracle/dac-oracle.c (Linux ELF cores, libmscordaccore.so)
# into a Windows program that reads a Windows minidump (MDMP) through the Windows DAC (mscordaccore.dll).
# It made Tests/ClrLayoutTests/Expected/windows-3.1.dac-stat.txt, the Windows DAC's `!dumpheap -stat` of
# ../shared/dumps/clr/async-crash/windows-3.1.mdmp.xz. A test oracle only; dumpdbg never uses the DAC.
#
#   cp ../shared/labs/dac-oracle/dac-oracle.c orig.c && python3 port-dac-oracle-to-mdmp.py   # writes dac-oracle-win.c
#   x86_64-w64-mingw32-gcc -O2 -o dac-oracle-win.exe dac-oracle-win.c      # apt-get install gcc-mingw-w64-x86-64
#   wine64 dac-oracle-win.exe 'Z:\path\dump.mdmp' 'Z:\path\Microsoft.NETCore.App\3.1.23' --stat   # apt-get install wine64
# The Windows runtime folder (coreclr.dll, mscordaccore.dll, System.Private.CoreLib.dll) comes from PyPI:
#   pip download --no-deps --platform win_amd64 --only-binary=:all: dotnetcore2==3.1.23, then unzip the wheel.
src = open('orig.c').read()
def rep(a, b, count=1):
    global src
    assert src.count(a) >= 1, a[:80]
    src = src.replace(a, b) if count == 0 else src.replace(a, b, count)
# includes
rep('#define _GNU_SOURCE\n', '#define __USE_MINGW_ANSI_STDIO 1\n')
rep('#include <dlfcn.h>\n#include <elf.h>\n', '')
rep('#include <sys/mman.h>\n', '')
rep('#include <unistd.h>\n', '#include <strings.h>\n__declspec(dllimport) void *LoadLibraryA(const char *);\n__declspec(dllimport) void *GetProcAddress(void *, const char *);\n__declspec(dllimport) unsigned long GetLastError(void);\n')
rep('''    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;''', '''    return (double)clock() / CLOCKS_PER_SEC;''')
rep("static const char *base_name(const char *p) { const char *s = strrchr(p, '/'); return s ? s + 1 : p; }",
    "static const char *base_name(const char *p) { const char *s = strrchr(p, '/'), *t = strrchr(p, '\\\\'); if (t > s) s = t; return s ? s + 1 : p; }")
# open_local -> returns FILE* index hack: we only need it for metadata; use fopen
a = src.index('static int open_local(const char *orig) {')
b = src.index('// returns bytes copied from the dump at addr')
src = src[:a] + r'''static FILE *open_local(const char *orig) {
    char p[4096];
    const char *bn = base_name(orig);
    for (int i = 0; i < g_nsearch; i++) {
        snprintf(p, sizeof p, "%s/%s", g_search[i], bn);
        FILE *f = fopen(p, "rb");
        if (f) { vlog("  map %s -> %s\n", bn, p); return f; }
    }
    return NULL;
}
static uint8_t *slurp(FILE *f, size_t *sz) {
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n ? n : 1); *sz = fread(b, 1, n, f); fclose(f); return b;
}
// ---------------------------------------------------------------- Windows minidump (MDMP): Memory64List + ModuleList
static int load_core(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    g_core = slurp(f, &g_core_size);
    if (g_core_size < 32 || memcmp(g_core, "MDMP", 4)) { fprintf(stderr, "%s: not a minidump\n", path); return -1; }
    uint32_t nstreams = *(uint32_t *)(g_core + 8), dirrva = *(uint32_t *)(g_core + 12);
    for (uint32_t i = 0; i < nstreams; i++) {
        uint32_t type = *(uint32_t *)(g_core + dirrva + 12 * i), rva = *(uint32_t *)(g_core + dirrva + 12 * i + 8);
        if (type == 9) { // Memory64ListStream
            uint64_t n = *(uint64_t *)(g_core + rva), off = *(uint64_t *)(g_core + rva + 8);
            g_segs = calloc(n, sizeof(Seg));
            for (uint64_t k = 0; k < n; k++) {
                uint64_t va = *(uint64_t *)(g_core + rva + 16 + 16 * k), sz = *(uint64_t *)(g_core + rva + 24 + 16 * k);
                g_segs[g_nsegs++] = (Seg){va, sz, sz, off}; off += sz;
            }
        } else if (type == 4) { // ModuleListStream
            uint32_t n = *(uint32_t *)(g_core + rva);
            g_fmaps = calloc(n, sizeof(FileMap));
            for (uint32_t k = 0; k < n; k++) {
                const uint8_t *m = g_core + rva + 4 + 108 * k;
                uint64_t base = *(uint64_t *)m; uint32_t size = *(uint32_t *)(m + 8), namerva = *(uint32_t *)(m + 20);
                uint32_t nl = *(uint32_t *)(g_core + namerva);
                char *name = malloc(nl + 8); w2u((const WCHAR *)(g_core + namerva + 4), name, nl + 8);
                g_fmaps[g_nfmaps++] = (FileMap){base, base + size, 0, name, -2};
            }
        }
    }
    qsort(g_segs, g_nsegs, sizeof(Seg), seg_cmp);
    vlog("mdmp: %d memory ranges, %d modules\n", g_nsegs, g_nfmaps);
    return 0;
}

''' + src[b:]
# read_file_backed: full-memory dump, nothing to fall back to
a = src.index('static size_t read_file_backed(uint64_t addr, uint8_t *buf, size_t len) {')
b = src.index('static size_t read_mem(uint64_t addr, void *vbuf, size_t len) {')
src = src[:a] + 'static size_t read_file_backed(uint64_t addr, uint8_t *buf, size_t len) { (void)addr; (void)buf; (void)len; return 0; }\n' + src[b:]
# pe_get_metadata: fopen instead of mmap
rep('''    int fd = open_local(name);
    if (fd < 0) { vlog("GetMetadata: %s not found locally\\n", name); return E_FAIL; }
    struct stat st; fstat(fd, &st);
    uint8_t *f = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f == MAP_FAILED) return E_FAIL;''', '''    FILE *fp = open_local(name);
    if (!fp) { vlog("GetMetadata: %s not found locally\\n", name); return E_FAIL; }
    struct { size_t st_size; } st; uint8_t *f = slurp(fp, &st.st_size);''')
rep('    munmap(f, st.st_size);\n', '    free(f);\n')
# main: coreclr base and DAC loading
rep('g_coreclr_base = module_base("libcoreclr.so");', 'g_coreclr_base = module_base("coreclr.dll");')
rep('if (!g_coreclr_base) { fprintf(stderr, "libcoreclr.so not found in the core\'s NT_FILE note\\n"); return 1; }',
    'if (!g_coreclr_base) { fprintf(stderr, "coreclr.dll not found in the ModuleList\\n"); return 1; }')
rep('vlog("libcoreclr.so base', 'vlog("coreclr.dll base')
a = src.index('    char dacpath[4096]; snprintf(dacpath, sizeof dacpath, "%s/libmscordaccore.so", rtdir);')
b = src.index('    g_dt.vt = &k_dtvt;')
src = src[:a] + '''    char dacpath[4096]; snprintf(dacpath, sizeof dacpath, "%s\\\\mscordaccore.dll", rtdir);
    void *h = LoadLibraryA(dacpath);
    if (!h) { fprintf(stderr, "LoadLibrary(%s) failed: %lu\\n", dacpath, GetLastError()); return 1; }
    HRESULT (*create)(const GUID *, void *, void **) = (HRESULT (*)(const GUID *, void *, void **))GetProcAddress(h, "CLRDataCreateInstance");
    if (!create) { fprintf(stderr, "CLRDataCreateInstance not exported\\n"); return 1; }
''' + src[b:]
rep("char *sl = strrchr(coredir, '/'); if (sl) *sl = 0; else strcpy(coredir, \".\");",
    "char *sl = strrchr(coredir, '/'); char *sl2 = strrchr(coredir, '\\\\'); if (sl2 > sl) sl = sl2; if (sl) *sl = 0; else strcpy(coredir, \".\");")
open('dac-oracle-win.c', 'w').write(src)
