// libedit's el_set/el_get/history are C variadic functions, which Swift cannot call.
// These fixed-signature wrappers are the whole bridge.
#include <stdio.h>
#include <histedit.h>

typedef char *(*dumpdbg_prompt_fn)(EditLine *);
typedef unsigned char (*dumpdbg_command_fn)(EditLine *, int);

static inline int dumpdbg_el_set_prompt(EditLine *e, dumpdbg_prompt_fn fn) { return el_set(e, EL_PROMPT, fn); }
static inline int dumpdbg_el_set_editor(EditLine *e, const char *mode) { return el_set(e, EL_EDITOR, mode); }
static inline int dumpdbg_el_set_signal(EditLine *e, int on) { return el_set(e, EL_SIGNAL, on); }
static inline int dumpdbg_el_set_history(EditLine *e, History *h) { return el_set(e, EL_HIST, history, h); }
static inline int dumpdbg_el_set_clientdata(EditLine *e, void *data) { return el_set(e, EL_CLIENTDATA, data); }
static inline void *dumpdbg_el_get_clientdata(EditLine *e) {
    void *data = NULL;
    el_get(e, EL_CLIENTDATA, &data);
    return data;
}
static inline int dumpdbg_el_addfn(EditLine *e, const char *name, const char *help, dumpdbg_command_fn fn) {
    return el_set(e, EL_ADDFN, name, help, fn);
}
static inline int dumpdbg_el_bind(EditLine *e, const char *key, const char *fn) {
    return el_set(e, EL_BIND, key, fn, NULL);
}
static inline int dumpdbg_history_setsize(History *h, HistEvent *ev, int n) { return history(h, ev, H_SETSIZE, n); }
static inline int dumpdbg_history_setunique(History *h, HistEvent *ev, int on) { return history(h, ev, H_SETUNIQUE, on); }
static inline int dumpdbg_history_enter(History *h, HistEvent *ev, const char *line) { return history(h, ev, H_ENTER, line); }
static inline int dumpdbg_history_load(History *h, HistEvent *ev, const char *path) { return history(h, ev, H_LOAD, path); }
static inline int dumpdbg_history_save(History *h, HistEvent *ev, const char *path) { return history(h, ev, H_SAVE, path); }
