/* calib8 eval MODEL --data SRC [--labels FILE] [--preprocess STR | --template NAME] [--metric top1|top5]
 *              [--json FILE] [--batch B] [--threads N] [--limit N] [--check-preprocess FILE.npy]
 * calib8 eval MODEL --data SRC --metric similarity --reference FP32.onnx [...]
 * calib8 eval --print-templates
 *
 * Streams a dataset through a session and scores the first output against class labels, or (similarity)
 * against a reference model's outputs, without labels (docs/metrics.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/feed.h"
#include "evaluate/score.h"
#include "cli.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/labels.h"
#include "data/npy.h"
#include "data/preprocess.h"

static const char *usage_text =
    "usage: calib8 eval MODEL --data SRC [--labels FILE] [--preprocess STR | --template NAME]\n"
    "                   [--metric top1|top5|map50|map|similarity] [--decode yolov5|yolov8|boxes]\n"
    "                   [--reference FP32.onnx] [--json FILE] [--batch B]\n"
    "                   [--threads N] [--limit N] [--check-preprocess FILE.npy]\n"
    "       calib8 eval --print-templates";

static void print_templates(void) {
  for (int i = 0; i < c8_preprocess_template_count(); i++)
    printf("%s\n  %s\n  %s\n", c8_preprocess_template_name(i), c8_preprocess_template_text(i),
           c8_preprocess_template_note(i));
}

typedef struct batch_state {
  int n_inputs;
  const char *names[C8_DATASET_MAX_INPUTS];
  calib8_tensor t[C8_DATASET_MAX_INPUTS];
  size_t cap[C8_DATASET_MAX_INPUTS];
  size_t sample_bytes[C8_DATASET_MAX_INPUTS];
  int64_t labels[4096];
  char first_source[4608];
  int n;
} batch_state;

/* Appends one sample to the batch; the first sample of a batch fixes the per-sample shapes. */
static int batch_add(batch_state *b, const c8_sample *s, int batch, int64_t label) {
  for (int i = 0; i < b->n_inputs; i++) {
    const c8_tensor *x = &s->t[i];
    calib8_tensor *t = &b->t[i];
    size_t bytes = c8_nbytes(x);
    if (b->n == 0) {
      t->dtype = x->dtype;
      t->rank = x->rank;
      memcpy(t->dims, x->dims, sizeof t->dims);
      b->sample_bytes[i] = bytes;
      size_t need = bytes * (size_t)batch;
      if (need > b->cap[i] || !t->data) {
        c8_free(t->data);
        t->data = c8_alloc(need ? need : 1);
        if (!t->data) return cli_fail("out of memory for a batch of %d samples", batch);
        b->cap[i] = need;
      }
      snprintf(b->first_source, sizeof b->first_source, "%s", s->source);
    } else {
      bool same = x->rank == t->rank && x->dtype == t->dtype;
      for (int d = 1; same && d < x->rank; d++) same = x->dims[d] == t->dims[d];
      if (!same)
        return cli_fail("sample %s has shape %s, unlike %s in the same batch; use --batch 1 or preprocess to one size",
                        s->source, C8_SHAPE_STR(x), b->first_source);
    }
    memcpy((char *)t->data + b->sample_bytes[i] * (size_t)b->n, x->data, bytes);
  }
  b->labels[b->n++] = label;
  return 0;
}

/* --metric similarity: agreement with a reference model (docs/metrics.md). */
typedef struct sim_state {
  bool decided, classifier;
  int64_t agree;
  double cos_sum;
} sim_state;

/* The reference must read the same inputs and write the evaluated model's outputs (by name). */
static int check_reference(const calib8_model *m, const char *path, const calib8_model *rm, const char *rpath) {
  int rc = cli_check_same_inputs("eval", m, path, rm, rpath);
  if (rc) return rc;
  for (int i = 0; i < calib8_model_output_count(m); i++) {
    calib8_value_info a, b;
    bool found = false;
    calib8_model_output_info(m, i, &a);
    for (int j = 0; j < calib8_model_output_count(rm) && !found; j++) {
      calib8_model_output_info(rm, j, &b);
      found = !strcmp(a.name, b.name);
    }
    if (!found)
      return cli_fail("eval: reference '%s' has no output named '%s' (an output of '%s'); similarity compares outputs "
                      "by name",
                      rpath, a.name, path);
  }
  return 0;
}

static int find_output(const calib8_session *s, const char *name) {
  for (int i = 0; i < calib8_session_output_count(s); i++)
    if (!strcmp(calib8_session_output_name(s, i), name)) return i;
  return -1;
}

/* First index of the largest score; NaN never wins (a row of NaN gives -1). */
static int64_t argmax_row(const calib8_tensor *t, int64_t row, int64_t k) {
  int64_t best = -1;
  double bv = 0;
  for (int64_t j = 0; j < k; j++) {
    double x = c8_get_f64(t, row * k + j);
    if (x == x && (best < 0 || x > bv)) best = j, bv = x;
  }
  return best;
}

/* Scores the first `real` rows of a batch of `n`: top-1 agreement on output 0 when the reference's output 0 is
 * [N, C] with C > 1, else the cosine of each sample's values over all outputs (clamped to [0, 1]). */
static int sim_batch(sim_state *ss, const calib8_session *s, const calib8_session *rs, int n, int real) {
  int n_out = calib8_session_output_count(s);
  calib8_tensor y[64], r[64];
  if (n_out > 64) return cli_fail("eval: similarity handles at most 64 outputs; the model has %d", n_out);
  for (int o = 0; o < n_out; o++) {
    const char *name = calib8_session_output_name(s, o);
    int ro = find_output(rs, name);
    calib8_session_output(s, o, &y[o]);
    calib8_session_output(rs, ro, &r[o]);
    bool numeric = calib8_dtype_size(y[o].dtype) > 0 && y[o].dtype != CALIB8_STRING &&
                   calib8_dtype_size(r[o].dtype) > 0 && r[o].dtype != CALIB8_STRING;
    if (!numeric || c8_numel(&y[o]) != c8_numel(&r[o]))
      return cli_fail("eval: output '%s' is %s %s in the model but %s %s in the reference; similarity needs the same "
                      "size",
                      name, calib8_dtype_name(y[o].dtype), C8_SHAPE_STR(&y[o]), calib8_dtype_name(r[o].dtype),
                      C8_SHAPE_STR(&r[o]));
    if (y[o].rank < 1 || y[o].dims[0] != n)
      return cli_fail("eval: output '%s' has shape %s; similarity needs outputs led by the batch dimension (%d)", name,
                      C8_SHAPE_STR(&y[o]), n);
  }
  if (!ss->decided) {
    ss->decided = true;
    ss->classifier = r[0].rank == 2 && r[0].dims[1] > 1;
  }
  if (ss->classifier) {
    int64_t k = r[0].dims[1];
    for (int row = 0; row < real; row++) {
      int64_t a = argmax_row(&y[0], row, k), b = argmax_row(&r[0], row, k);
      if (a >= 0 && a == b) ss->agree++;
    }
    return 0;
  }
  for (int row = 0; row < real; row++) {
    double ab = 0, aa = 0, bb = 0;
    for (int o = 0; o < n_out; o++) {
      int64_t per = c8_numel(&y[o]) / n;
      for (int64_t j = row * per; j < (row + 1) * per; j++) {
        double a = c8_get_f64(&r[o], j), b = c8_get_f64(&y[o], j);
        ab += a * b, aa += a * a, bb += b * b;
      }
    }
    double c = aa == 0 && bb == 0 ? 1.0 : aa == 0 || bb == 0 ? 0.0 : ab / sqrt(aa * bb);
    if (!(c > 0)) c = 0; /* opposite or NaN: no agreement */
    if (c > 1) c = 1;
    ss->cos_sum += c;
  }
  return 0;
}

/* --metric map50|map: detection mAP through the shared scorer (cli-score.c). */
static int eval_detection(const char *model_path, const char *data, const char *labels, const char *pp_text,
                          const char *template_name, const char *metric, const char *decode, int batch, int threads,
                          int limit, const char *json) {
  c8_preprocess pp;
  bool has_pp;
  if (!cli_parse_preprocess(pp_text, template_name, &pp, &has_pp)) return 2;
  int d = decode ? c8_decode_parse(decode) : C8_DECODE_YOLOV5;
  if (d < 0) return cli_fail("eval: --decode '%s' is not yolov5, yolov8 or boxes", decode), 2;
  if (!labels) return cli_fail("eval: metric %s needs --labels FILE (cls,x1,y1,x2,y2;... per image)", metric), 2;
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  c8_scorer sc;
  memset(&sc, 0, sizeof sc);
  int rc = 1;
  double value;
  int64_t count;
  calib8_status st;
  if ((st = calib8_model_load(model_path, &m))) goto fail;
  calib8_session_options so = calib8_session_options_default();
  so.threads = threads;
  if ((st = calib8_session_create(m, &so, &s))) goto fail;
  if ((st = c8_scorer_init(&sc, (calib8_metric)calib8_metric_parse(metric), m, data, has_pp ? &pp : NULL, labels, batch,
                            limit)))
    goto fail;
  sc.det_opts.decode = (c8_decode_kind)d;
  if ((st = c8_score(&sc, s, &value, &count))) goto fail;
  printf("%s %.6f (%lld images)\n", metric, value, (long long)count);
  if (json) {
    char text[256];
    int n = snprintf(text, sizeof text, "{\"metric\": \"%s\", \"value\": %.10g, \"count\": %lld}\n", metric, value,
                     (long long)count);
    if ((st = c8_write_file_atomic(json, text, (size_t)n))) goto fail;
  }
  rc = 0;
  goto out;
fail:
  rc = cli_fail_status(st);
out:
  c8_scorer_free(&sc);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
  return rc;
}

int cmd_eval(int argc, char **argv) {
  const char *decode = NULL;
  const char *model_path = NULL, *data = NULL, *labels_path = NULL, *pp_text = NULL, *template = NULL;
  const char *metric = "top1", *json = NULL, *reference = NULL, *check_pp = NULL;
  int batch = 0, threads = 0, limit = 0, rc = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--print-templates")) {
      print_templates();
      return 0;
    } else if (!strcmp(a, "--data") || !strcmp(a, "-d")) {
      if (!v) return cli_fail("option %s needs a dataset path", a);
      data = v, i++;
    } else if (!strcmp(a, "--labels") || !strcmp(a, "-l")) {
      if (!v) return cli_fail("option %s needs a labels file", a);
      labels_path = v, i++;
    } else if (!strcmp(a, "--preprocess") || !strcmp(a, "-p")) {
      if (!v) return cli_fail("option %s needs a preprocessing string", a);
      pp_text = v, i++;
    } else if (!strcmp(a, "--template")) {
      if (!v) return cli_fail("option %s needs a template name (see --print-templates)", a);
      template = v, i++;
    } else if (!strcmp(a, "--metric")) {
      if (!v) return cli_fail("option %s needs top1, top5 or similarity", a);
      metric = v, i++;
    } else if (!strcmp(a, "--json")) {
      if (!v) return cli_fail("option %s needs a file name", a);
      json = v, i++;
    } else if (!strcmp(a, "--decode")) {
      if (!v) return cli_fail("option %s needs yolov5, yolov8 or boxes", a), 2;
      decode = v, i++;
    } else if (!strcmp(a, "--reference")) {
      if (!v) return cli_fail("option %s needs the FP32 reference model", a), 2;
      reference = v, i++;
    } else if (!strcmp(a, "--check-preprocess")) {
      if (!v) return cli_fail("option %s needs a .npy file of your own preprocessed images", a), 2;
      check_pp = v, i++;
    } else if (!strcmp(a, "--batch")) {
      if (!cli_parse_int(a, v, 1, 4096, &batch)) return 2;
      i++;
    } else if (!strcmp(a, "--threads")) {
      if (!cli_parse_int(a, v, 1, 256, &threads)) return 2;
      i++;
    } else if (!strcmp(a, "--limit")) {
      if (!cli_parse_int(a, v, 1, 2000000000, &limit)) return 2;
      i++;
    } else if (a[0] == '-') {
      return cli_fail("eval: unknown option '%s'\n%s", a, usage_text);
    } else if (!model_path) {
      model_path = a;
    } else {
      return cli_fail("eval: unexpected argument '%s'\n%s", a, usage_text);
    }
  }
  if (!model_path || !data) return cli_fail("eval needs MODEL and --data SRC\n%s", usage_text), 2;
  if (pp_text && template) return cli_fail("eval: give --preprocess or --template, not both"), 2;
  if (!strcmp(metric, "map50") || !strcmp(metric, "map"))
    return eval_detection(model_path, data, labels_path, pp_text, template, metric, decode, batch, threads, limit, json);
  int topk = 0;
  bool sim = false;
  if (!strcmp(metric, "top1"))
    topk = 1;
  else if (!strcmp(metric, "top5"))
    topk = 5;
  else if (!strcmp(metric, "similarity"))
    sim = true;
  else
    return cli_fail("eval: metric '%s' is not supported; eval computes top1, top5, map50, map or similarity (against --reference)",
                    metric),
           2;
  if (sim && !reference)
    return cli_fail("eval: --metric similarity needs --reference FP32.onnx (the model to agree with)"), 2;
  if (!sim && reference) return cli_fail("eval: --reference is only used by --metric similarity"), 2;

  calib8_model *m = NULL, *rm = NULL;
  calib8_session *s = NULL, *rs = NULL;
  c8_dataset *ds = NULL;
  c8_class_labels *labels = NULL;
  batch_state *b = calloc(1, sizeof *b);
  c8_preprocess pp;
  bool has_pp = pp_text || template;
  calib8_value_info info[C8_DATASET_MAX_INPUTS];
  char auto_labels[4200];
  if (!b) return cli_fail("out of memory");

  calib8_status st;
  if (pp_text && (st = c8_preprocess_parse(pp_text, &pp))) goto fail_status;
  if (template && (st = c8_preprocess_template(template, &pp))) goto fail_status;
  if ((st = calib8_model_load(model_path, &m))) goto fail_status;
  int n_in = calib8_model_input_count(m);
  if (n_in > C8_DATASET_MAX_INPUTS) {
    rc = cli_fail("model '%s' has %d inputs; eval feeds at most %d", model_path, n_in, C8_DATASET_MAX_INPUTS);
    goto out;
  }
  for (int i = 0; i < n_in; i++)
    if ((st = calib8_model_input_info(m, i, &info[i]))) goto fail_status;
  if (check_pp && (rc = cli_preprocess_check(m, check_pp, data, pp_text, template))) goto out;
  rc = 1;
  if ((st = c8_dataset_open(data, n_in, info, has_pp ? &pp : NULL, &ds))) goto fail_status;

  if (!sim && !labels_path && c8_dataset_kind_of(ds) == C8_DS_LMDB) { /* the seeds keep labels beside data.mdb */
    struct stat sb;
    snprintf(auto_labels, sizeof auto_labels, "%s/data.label", c8_dataset_dir(ds));
    if (stat(auto_labels, &sb) == 0) {
      labels_path = auto_labels;
      fprintf(stderr, "calib8: using labels from '%s'\n", labels_path);
    }
  }
  if (!sim && !labels_path) {
    rc = cli_fail("eval: metric %s needs --labels FILE (class labels of dataset '%s')", metric, data);
    goto out;
  }
  if (!sim && (st = c8_class_labels_load(labels_path, &labels))) goto fail_status;
  if (!sim &&
      (st = c8_class_labels_check(labels, c8_dataset_count(ds), c8_dataset_record_count(ds), c8_dataset_spec(ds))))
    goto fail_status;

  /* Batch size: the model's fixed batch, or --batch (default 1) when the batch dimension is dynamic. */
  int64_t fixed = -1;
  for (int i = 0; i < n_in; i++)
    if (info[i].rank >= 1 && info[i].dims[0] > 0) fixed = info[i].dims[0];
  if (fixed > 0 && batch && batch != fixed) {
    rc = cli_fail("eval: model '%s' has a fixed batch of %lld; --batch %d is not possible", model_path,
                  (long long)fixed, batch);
    goto out;
  }
  if (fixed > 4096) {
    rc = cli_fail("eval: model '%s' has a fixed batch of %lld, more than eval handles (4096)", model_path,
                  (long long)fixed);
    goto out;
  }
  if (!batch) batch = fixed > 0 ? (int)fixed : 1;

  calib8_session_options opts = calib8_session_options_default();
  opts.threads = threads;
  if ((st = calib8_session_create(m, &opts, &s))) goto fail_status;
  if (sim) {
    if ((st = calib8_model_load(reference, &rm))) goto fail_status;
    if ((rc = check_reference(m, model_path, rm, reference))) goto out;
    rc = 1;
    if ((st = calib8_session_create(rm, &opts, &rs))) goto fail_status;
  }
  sim_state ss = {0};

  b->n_inputs = n_in;
  for (int i = 0; i < n_in; i++) b->names[i] = info[i].name;
  int64_t count = 0, correct = 0;
  bool done = false;
  while (!done) {
    b->n = 0;
    while (b->n < batch) {
      const c8_sample *smp;
      if (limit && count + b->n >= limit) {
        done = true;
        break;
      }
      if ((st = c8_dataset_next(ds, &smp))) goto fail_status;
      if (!smp) {
        done = true;
        break;
      }
      int64_t label = 0;
      if (labels && (st = c8_class_labels_get(labels, smp, &label))) goto fail_status;
      if (batch_add(b, smp, batch, label)) goto out;
    }
    if (b->n == 0) break;
    int real = b->n;
    if (fixed > 0) /* pad a short final batch by repeating its first sample; padded rows are not scored */
      for (; b->n < batch; b->n++)
        for (int i = 0; i < n_in; i++)
          memcpy((char *)b->t[i].data + b->sample_bytes[i] * (size_t)b->n, b->t[i].data, b->sample_bytes[i]);
    for (int i = 0; i < n_in; i++) b->t[i].dims[0] = b->n;
    if ((st = calib8_session_run(s, n_in, b->names, b->t))) goto fail_status;
    if (sim) {
      if ((st = calib8_session_run(rs, n_in, b->names, b->t))) goto fail_status;
      if ((rc = sim_batch(&ss, s, rs, b->n, real))) goto out;
      rc = 1;
      count += real;
      continue;
    }
    calib8_tensor out;
    if ((st = calib8_session_output(s, 0, &out))) goto fail_status;
    int64_t k = out.rank >= 1 && out.dims[0] == b->n ? c8_numel(&out) / b->n : -1;
    if (out.rank < 2 || k < 1) {
      rc = cli_fail("eval: output '%s' has shape %s; %s needs scores shaped [batch, classes] (batch %d)",
                    calib8_session_output_name(s, 0), C8_SHAPE_STR(&out), metric, b->n);
      goto out;
    }
    if (out.dtype == CALIB8_STRING || calib8_dtype_size(out.dtype) == 0) {
      rc = cli_fail("eval: output '%s' is %s, not a score tensor", calib8_session_output_name(s, 0),
                    calib8_dtype_name(out.dtype));
      goto out;
    }
    for (int r = 0; r < real; r++) {
      if (b->labels[r] >= k) {
        rc = cli_fail("eval: label %lld of sample %lld is out of range: output '%s' scores %lld classes",
                      (long long)b->labels[r], (long long)(count + r), calib8_session_output_name(s, 0), (long long)k);
        goto out;
      }
      if (c8_label_rank(&out, r, k, b->labels[r]) < topk) correct++;
    }
    count += real;
  }
  double value = count ? (double)correct / (double)count : 0.0;
  char text[1024];
  int n = 0;
  if (sim && ss.classifier) {
    value = count ? (double)ss.agree / (double)count : 0.0;
    printf("similarity %.6f (top-1 class agrees with '%s' on %lld of %lld samples)\n", value, reference,
           (long long)ss.agree, (long long)count);
    n = snprintf(text, sizeof text,
                 "{\"metric\": \"similarity\", \"kind\": \"top1_agreement\", \"value\": %.10g, \"count\": %lld, "
                 "\"correct\": %lld}\n",
                 value, (long long)count, (long long)ss.agree);
  } else if (sim) {
    value = count ? ss.cos_sum / (double)count : 0.0;
    printf("similarity %.6f (mean per-sample cosine against '%s' over %lld samples)\n", value, reference,
           (long long)count);
    n = snprintf(text, sizeof text,
                 "{\"metric\": \"similarity\", \"kind\": \"mean_cosine\", \"value\": %.10g, \"count\": %lld}\n",
                 value, (long long)count);
  } else {
    printf("%s %.6f (%lld of %lld samples)\n", metric, value, (long long)correct, (long long)count);
    n = snprintf(text, sizeof text, "{\"metric\": \"%s\", \"value\": %.10g, \"count\": %lld, \"correct\": %lld}\n",
                 metric, value, (long long)count, (long long)correct);
  }
  if (json) {
    if ((st = c8_write_file_atomic(json, text, (size_t)n))) goto fail_status;
  }
  rc = 0;
  goto out;
fail_status:
  rc = cli_fail_status(st);
out:
  for (int i = 0; i < C8_DATASET_MAX_INPUTS; i++) c8_free(b->t[i].data);
  free(b);
  c8_class_labels_free(labels);
  c8_dataset_close(ds);
  calib8_session_destroy(s);
  calib8_session_destroy(rs);
  calib8_model_destroy(m);
  calib8_model_destroy(rm);
  return rc;
}
