#include "data/labels.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/model.h"

typedef struct named {
  const char *key; /* points into names */
  int64_t label, line;
} named;

struct c8_class_labels {
  char *what;
  /* bare labels: lines[i] holds labels[first[i] .. first[i+1]) */
  int64_t n_lines, n_labels;
  int64_t *first, *labels;
  bool multi; /* some line holds more than one label */
  /* by name */
  bool by_name;
  char *names;              /* all keys, NUL-separated */
  named *by_path, *by_base; /* sorted by key; by_base keys are base names */
  int64_t n_named;
};

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = c8_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static int cmp_named(const void *a, const void *b) { return strcmp(((const named *)a)->key, ((const named *)b)->key); }

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* Parses a non-negative integer label in [b, e). */
static bool parse_label(const char *b, const char *e, int64_t *out) {
  while (b < e && isspace((unsigned char)*b)) b++;
  while (e > b && isspace((unsigned char)e[-1])) e--;
  if (b == e) return false;
  int64_t v = 0;
  for (const char *p = b; p < e; p++) {
    if (!isdigit((unsigned char)*p) || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (*p - '0');
  }
  *out = v;
  return true;
}

/* Iterates the lines of text: sets [*b, *e) and advances *p; returns false at the end. */
static bool next_line(const char **p, const char **b, const char **e) {
  if (!**p) return false;
  *b = *p;
  const char *nl = strchr(*p, '\n');
  *e = nl ? nl : *p + strlen(*p);
  *p = nl ? nl + 1 : *e;
  if (*e > *b && (*e)[-1] == '\r') (*e)--;
  return true;
}

#define LBL_ERR(...) c8_error(CALIB8_INVALID_ARGUMENT, __VA_ARGS__)

c8_status c8_class_labels_parse(const char *text, const char *what, c8_class_labels **out) {
  c8_class_labels *l = c8_calloc(1, sizeof *l);
  c8_status st = CALIB8_OK;
  int64_t cap_lines = 0, cap_labels = 0, cap_named = 0;
  size_t names_len = 0, names_cap = 0;
  if (!l || !(l->what = dupstr(what))) goto oom;
  const char *p = text, *b, *e;
  int64_t line_no = 0;
  int mode = 0; /* 0 unknown, 1 bare labels, 2 path label */
  while (next_line(&p, &b, &e)) {
    line_no++;
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    if (b == e || *b == '#') continue;
    /* A line of comma-separated integers holds bare labels; otherwise the last blank-separated field is
     * the label of the path before it. */
    const char *sp = e;
    while (sp > b && !isspace((unsigned char)sp[-1])) sp--;
    bool bare = true;
    for (const char *q = b; q < e && bare;) {
      const char *comma = memchr(q, ',', (size_t)(e - q));
      const char *qe = comma ? comma : e;
      int64_t v;
      bare = parse_label(q, qe, &v);
      q = comma ? comma + 1 : e;
      if (comma && q == e) bare = false;
    }
    int this_mode = bare || sp == b ? 1 : 2;
    if (mode && this_mode != mode)
      return c8_class_labels_free(l),
             LBL_ERR("labels file %s line %lld: '%.*s' mixes 'path label' lines with bare labels", what,
                     (long long)line_no, (int)(e - b > 60 ? 60 : e - b), b);
    mode = this_mode;
    if (mode == 1) {
      if (l->n_lines + 2 > cap_lines) {
        cap_lines = cap_lines ? cap_lines * 2 : 256;
        int64_t *nf = c8_realloc(l->first, sizeof(int64_t) * (size_t)cap_lines);
        if (!nf) goto oom;
        l->first = nf;
      }
      l->first[l->n_lines] = l->n_labels;
      const char *q = b;
      int64_t k = 0;
      for (;;) {
        const char *comma = memchr(q, ',', (size_t)(e - q));
        const char *qe = comma ? comma : e;
        int64_t v;
        if (!parse_label(q, qe, &v))
          return c8_class_labels_free(l),
                 LBL_ERR("labels file %s line %lld: '%.*s' is not a class label (an integer >= 0)", what,
                         (long long)line_no, (int)(qe - q > 40 ? 40 : qe - q), q);
        if (l->n_labels == cap_labels) {
          cap_labels = cap_labels ? cap_labels * 2 : 1024;
          int64_t *nl = c8_realloc(l->labels, sizeof(int64_t) * (size_t)cap_labels);
          if (!nl) goto oom;
          l->labels = nl;
        }
        l->labels[l->n_labels++] = v;
        k++;
        if (!comma) break;
        q = comma + 1;
      }
      if (k > 1) l->multi = true;
      l->n_lines++;
      l->first[l->n_lines] = l->n_labels;
    } else {
      int64_t v;
      if (!parse_label(sp, e, &v))
        return c8_class_labels_free(l),
               LBL_ERR("labels file %s line %lld: '%.*s' does not end in a class label (an integer >= 0)", what,
                       (long long)line_no, (int)(e - b > 60 ? 60 : e - b), b);
      const char *pe = sp;
      while (pe > b && isspace((unsigned char)pe[-1])) pe--;
      size_t kl = (size_t)(pe - b);
      if (names_len + kl + 1 > names_cap) {
        names_cap = (names_len + kl + 1) * 2 + 4096;
        char *nn = c8_realloc(l->names, names_cap);
        if (!nn) goto oom;
        l->names = nn;
      }
      if (l->n_named == cap_named) {
        cap_named = cap_named ? cap_named * 2 : 256;
        named *np = c8_realloc(l->by_path, sizeof(named) * (size_t)cap_named);
        if (!np) goto oom;
        l->by_path = np;
      }
      memcpy(l->names + names_len, b, kl);
      l->names[names_len + kl] = 0;
      /* keys are offsets until the names buffer stops moving */
      l->by_path[l->n_named].key = (const char *)(uintptr_t)names_len;
      l->by_path[l->n_named].label = v;
      l->by_path[l->n_named].line = line_no;
      l->n_named++;
      names_len += kl + 1;
    }
  }
  if (mode == 2) {
    l->by_name = true;
    l->by_base = c8_malloc(sizeof(named) * (size_t)l->n_named);
    if (!l->by_base) goto oom;
    for (int64_t i = 0; i < l->n_named; i++) {
      l->by_path[i].key = l->names + (uintptr_t)l->by_path[i].key;
      if (!strncmp(l->by_path[i].key, "./", 2)) l->by_path[i].key += 2;
      l->by_base[i] = l->by_path[i];
      l->by_base[i].key = base_name(l->by_path[i].key);
    }
    qsort(l->by_path, (size_t)l->n_named, sizeof(named), cmp_named);
    qsort(l->by_base, (size_t)l->n_named, sizeof(named), cmp_named);
    for (int64_t i = 1; i < l->n_named; i++)
      if (!strcmp(l->by_path[i].key, l->by_path[i - 1].key)) {
        int64_t a = l->by_path[i - 1].line, c = l->by_path[i].line;
        st = LBL_ERR("labels file %s names '%s' twice (lines %lld and %lld)", what, l->by_path[i].key,
                     (long long)(a < c ? a : c), (long long)(a < c ? c : a));
        c8_class_labels_free(l);
        return st;
      }
  }
  if (l->n_lines == 0 && l->n_named == 0) {
    c8_class_labels_free(l);
    return LBL_ERR("labels file %s contains no labels", what);
  }
  *out = l;
  return CALIB8_OK;
oom:
  c8_class_labels_free(l);
  return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading labels file %s", what);
}

/* Reads a labels file as NUL-terminated text (*text malloc'd) and names it "'path'" in `what` for messages. */
static c8_status read_labels_text(const char *path, char **text, char *what, size_t what_size) {
  void *bytes;
  size_t len;
  c8_status st = c8_read_file(path, &bytes, &len);
  if (st) return st;
  ((char *)bytes)[len] = 0; /* c8_read_file leaves room for a terminator */
  snprintf(what, what_size, "'%s'", path);
  if (memchr(bytes, 0, len)) {
    c8_mfree(bytes);
    return LBL_ERR("labels file %s is not a text file (it contains NUL bytes)", what);
  }
  *text = bytes;
  return CALIB8_OK;
}

c8_status c8_class_labels_load(const char *path, c8_class_labels **out) {
  char what[4200], *text = NULL;
  c8_status st = read_labels_text(path, &text, what, sizeof what);
  if (st) return st;
  st = c8_class_labels_parse(text, what, out);
  c8_mfree(text);
  return st;
}

int64_t c8_class_labels_count(const c8_class_labels *l) { return l->by_name ? l->n_named : l->n_labels; }
int64_t c8_class_labels_lines(const c8_class_labels *l) { return l->by_name ? l->n_named : l->n_lines; }
bool c8_class_labels_by_name(const c8_class_labels *l) { return l->by_name; }

c8_status c8_class_labels_check(const c8_class_labels *l, int64_t samples, int64_t records, const char *dataset) {
  if (l->by_name) return CALIB8_OK; /* checked per sample: a subset of the named files is fine */
  if (l->multi && records >= 0 && l->n_lines != records)
    return LBL_ERR("labels file %s has %lld lines (one per record) but dataset '%s' has %lld records", l->what,
                   (long long)l->n_lines, dataset, (long long)records);
  if (samples >= 0 && l->n_labels != samples)
    return LBL_ERR("labels file %s has %lld labels but dataset '%s' has %lld samples", l->what,
                   (long long)l->n_labels, dataset, (long long)samples);
  return CALIB8_OK;
}

static const named *find(const named *v, int64_t n, const char *key) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    int c = strcmp(v[mid].key, key);
    if (!c) return &v[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

c8_status c8_class_labels_get(const c8_class_labels *l, const c8_sample *s, int64_t *label) {
  if (l->by_name) {
    if (!s->name)
      return LBL_ERR("labels file %s gives labels by file name, but sample %s is not a file of its own; use one label "
                     "per line",
                     l->what, s->source);
    const char *key = s->name;
    if (!strncmp(key, "./", 2)) key += 2;
    const named *hit = find(l->by_path, l->n_named, key);
    if (!hit) {
      const char *bn = base_name(key);
      hit = find(l->by_base, l->n_named, bn);
      if (hit) { /* a base name must be unambiguous */
        int64_t i = hit - l->by_base;
        if ((i > 0 && !strcmp(l->by_base[i - 1].key, bn)) || (i + 1 < l->n_named && !strcmp(l->by_base[i + 1].key, bn)))
          return LBL_ERR("labels file %s has several entries named '%s'; sample %s matches more than one", l->what, bn,
                         s->source);
      }
    }
    if (!hit) return LBL_ERR("labels file %s has no label for sample %s (name '%s')", l->what, s->source, s->name);
    *label = hit->label;
    return CALIB8_OK;
  }
  if (!l->multi) {
    if (s->index >= l->n_labels)
      return LBL_ERR("labels file %s has %lld labels, too few for sample %s (number %lld)", l->what,
                     (long long)l->n_labels, s->source, (long long)s->index + 1);
    *label = l->labels[s->index];
    return CALIB8_OK;
  }
  if (s->record >= l->n_lines)
    return LBL_ERR("labels file %s has %lld lines, too few for record %lld (sample %s)", l->what,
                   (long long)l->n_lines, (long long)s->record, s->source);
  int64_t n = l->first[s->record + 1] - l->first[s->record];
  if (n != s->record_items)
    return LBL_ERR("labels file %s line for record %lld has %lld labels but the record holds %lld samples", l->what,
                   (long long)s->record, (long long)n, (long long)s->record_items);
  *label = l->labels[l->first[s->record] + s->item];
  return CALIB8_OK;
}

void c8_class_labels_free(c8_class_labels *l) {
  if (!l) return;
  c8_mfree(l->what);
  c8_mfree(l->first);
  c8_mfree(l->labels);
  c8_mfree(l->names);
  c8_mfree(l->by_path);
  c8_mfree(l->by_base);
  c8_mfree(l);
}

/* ---- detection ----------------------------------------------------------------------------------- */

static bool parse_num(const char *b, const char *e, double *out) {
  char buf[64];
  while (b < e && isspace((unsigned char)*b)) b++;
  while (e > b && isspace((unsigned char)e[-1])) e--;
  if (b == e || (size_t)(e - b) >= sizeof buf) return false;
  memcpy(buf, b, (size_t)(e - b));
  buf[e - b] = 0;
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (*end || errno || !isfinite(v) || fabs(v) > 1e30) return false;
  *out = v;
  return true;
}

c8_status c8_det_labels_parse(const char *text, const char *what, c8_det_labels **out) {
  c8_det_labels *l = c8_calloc(1, sizeof *l);
  int64_t cap_img = 0, cap_box = 0;
  if (!l || !(l->what = dupstr(what))) goto oom;
  const char *p = text, *b, *e;
  while (next_line(&p, &b, &e)) {
    int64_t line_no = l->n_images + 1;
    if (l->n_images + 2 > cap_img) {
      cap_img = cap_img ? cap_img * 2 : 256;
      int64_t *nf = c8_realloc(l->first, sizeof(int64_t) * (size_t)cap_img);
      if (!nf) goto oom;
      l->first = nf;
    }
    l->first[l->n_images] = l->n_boxes;
    const char *q = b;
    int box = 0;
    while (q < e) {
      const char *semi = memchr(q, ';', (size_t)(e - q));
      const char *be = semi ? semi : e;
      const char *t = q;
      while (t < be && isspace((unsigned char)*t)) t++;
      if (t < be) { /* empty segments (a trailing ';', a blank line) hold no box */
        box++;
        double f[5];
        int nf = 0;
        const char *r = q;
        bool ok = true;
        for (;;) {
          const char *comma = memchr(r, ',', (size_t)(be - r));
          const char *fe = comma ? comma : be;
          if (nf < 5 && !parse_num(r, fe, &f[nf])) ok = false;
          nf++;
          if (!comma) break;
          r = comma + 1;
        }
        int show = (int)(be - q > 60 ? 60 : be - q);
        c8_status st = CALIB8_OK;
        if (nf != 5)
          st = LBL_ERR("labels file %s line %lld, box %d '%.*s': needs 5 comma-separated fields cls,x1,y1,x2,y2, has %d",
                       what, (long long)line_no, box, show, q, nf);
        else if (!ok)
          st = LBL_ERR("labels file %s line %lld, box %d '%.*s': a field is not a finite number", what,
                       (long long)line_no, box, show, q);
        else if (f[0] < 0 || f[0] != floor(f[0]) || f[0] > 1e9)
          st = LBL_ERR("labels file %s line %lld, box %d '%.*s': class %g is not an integer >= 0", what,
                       (long long)line_no, box, show, q, f[0]);
        else if (f[3] < f[1] || f[4] < f[2])
          st = LBL_ERR("labels file %s line %lld, box %d '%.*s': the corners are swapped (needs x2 >= x1 and y2 >= y1)",
                       what, (long long)line_no, box, show, q);
        if (st) {
          c8_det_labels_free(l);
          return st;
        }
        if (l->n_boxes == cap_box) {
          cap_box = cap_box ? cap_box * 2 : 1024;
          c8_box *nb = c8_realloc(l->boxes, sizeof(c8_box) * (size_t)cap_box);
          if (!nb) goto oom;
          l->boxes = nb;
        }
        l->boxes[l->n_boxes++] = (c8_box){(int64_t)f[0], (float)f[1], (float)f[2], (float)f[3], (float)f[4]};
      }
      q = semi ? semi + 1 : e;
    }
    l->n_images++;
    l->first[l->n_images] = l->n_boxes;
  }
  if (l->n_images == 0) {
    c8_det_labels_free(l);
    return LBL_ERR("labels file %s contains no lines", what);
  }
  *out = l;
  return CALIB8_OK;
oom:
  c8_det_labels_free(l);
  return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading labels file %s", what);
}

c8_status c8_det_labels_load(const char *path, c8_det_labels **out) {
  char what[4200], *text = NULL;
  c8_status st = read_labels_text(path, &text, what, sizeof what);
  if (st) return st;
  st = c8_det_labels_parse(text, what, out);
  c8_mfree(text);
  return st;
}

c8_status c8_det_labels_check(const c8_det_labels *l, int64_t samples, const char *dataset) {
  if (samples >= 0 && l->n_images != samples)
    return LBL_ERR("labels file %s has %lld lines (one per image) but dataset '%s' has %lld samples", l->what,
                   (long long)l->n_images, dataset, (long long)samples);
  return CALIB8_OK;
}

void c8_det_labels_free(c8_det_labels *l) {
  if (!l) return;
  c8_mfree(l->what);
  c8_mfree(l->first);
  c8_mfree(l->boxes);
  c8_mfree(l);
}
