#include "evaluate/detection.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct det {
  float score;
  int64_t image, seq; /* seq: insertion order, the tie-break of Python's stable sort */
  int cls;
  float box[4];
} det;

struct c8_det_eval {
  c8_det_options o;
  det *d;
  int64_t n, cap, seq;
  int n_classes;          /* max class seen + 1 (outputs and labels) */
  int64_t images_end;     /* images [0, images_end) were added */
  const c8_det_labels *labels;
};

c8_det_options c8_det_options_default(void) {
  c8_det_options o = {.decode = C8_DECODE_YOLOV5, .conf = 0.001f, .nms_iou = 0.5f};
  return o;
}

int c8_decode_parse(const char *name) {
  if (!strcmp(name, "yolov5")) return C8_DECODE_YOLOV5;
  if (!strcmp(name, "yolov8")) return C8_DECODE_YOLOV8;
  if (!strcmp(name, "boxes")) return C8_DECODE_BOXES;
  return -1;
}

c8_status c8_det_eval_create(const c8_det_options *o, c8_det_eval **out) {
  c8_det_eval *e = c8_calloc(1, sizeof *e);
  if (!e) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  e->o = o ? *o : c8_det_options_default();
  *out = e;
  return CALIB8_OK;
}

void c8_det_eval_destroy(c8_det_eval *e) {
  if (!e) return;
  c8_mfree(e->d);
  c8_mfree(e);
}

static const char *decode_name(c8_decode_kind k) {
  return k == C8_DECODE_YOLOV5 ? "yolov5" : k == C8_DECODE_YOLOV8 ? "yolov8" : "boxes";
}

c8_status c8_det_check_output(const c8_det_options *o, const c8_tensor *t, const char *name) {
  const char *need = o->decode == C8_DECODE_YOLOV5   ? "[N, boxes, 4+1+classes]"
                     : o->decode == C8_DECODE_YOLOV8 ? "[N, 4+classes, boxes]"
                                                     : "[N, boxes, 6]";
  bool ok = t->rank == 3 && t->dtype == CALIB8_FLOAT;
  if (ok && o->decode == C8_DECODE_YOLOV5) ok = t->dims[2] >= 6;
  if (ok && o->decode == C8_DECODE_YOLOV8) ok = t->dims[1] >= 5;
  if (ok && o->decode == C8_DECODE_BOXES) ok = t->dims[2] == 6;
  if (!ok)
    return c8_error(CALIB8_INVALID_ARGUMENT, "output '%s' is %s %s; --decode %s needs float32 %s", name,
                    calib8_dtype_name(t->dtype), C8_SHAPE_STR(t), decode_name(o->decode), need);
  return CALIB8_OK;
}

static c8_status push(c8_det_eval *e, const det *d) {
  if (e->n == e->cap) {
    int64_t cap = e->cap ? e->cap * 2 : 4096;
    det *nd = c8_realloc(e->d, sizeof *nd * (size_t)cap);
    if (!nd) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory keeping detections");
    e->d = nd;
    e->cap = cap;
  }
  e->d[e->n++] = *d;
  return CALIB8_OK;
}

/* candidates of one class in one image */
typedef struct cand {
  float score;
  int64_t idx;
  float box[4];
} cand;

static int by_score_desc_then_index_desc(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->score != y->score) return x->score < y->score ? 1 : -1;
  return x->idx < y->idx ? 1 : -1; /* argsort()[::-1]: ties in reverse index order */
}

static float area_f(const float *b) { return (b[2] - b[0]) * (b[3] - b[1]); }

c8_status c8_det_eval_add(c8_det_eval *e, const c8_tensor *out, int rows, int64_t first_image,
                          const c8_det_labels *labels, const double *geom) {
  e->labels = labels;
  const float *p = out->data;
  int64_t nb, stride_box, stride_field, nfield;
  int nc;
  if (e->o.decode == C8_DECODE_YOLOV8) {
    nfield = out->dims[1];
    nb = out->dims[2];
    stride_field = nb;
    stride_box = 1;
    nc = (int)(nfield - 4);
  } else {
    nb = out->dims[1];
    nfield = out->dims[2];
    stride_field = 1;
    stride_box = nfield;
    nc = e->o.decode == C8_DECODE_YOLOV5 ? (int)(nfield - 5) : 0;
  }
  cand *cs = c8_malloc(sizeof *cs * (size_t)(nb ? nb : 1));
  unsigned char *dead = c8_malloc((size_t)(nb ? nb : 1));
  if (!cs || !dead) {
    c8_mfree(cs);
    c8_mfree(dead);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory decoding detections");
  }
  c8_status st = CALIB8_OK;
  for (int r = 0; r < rows && !st; r++) {
    const float *img = p + (int64_t)r * nb * nfield;
    int64_t image = first_image + r;
    if (image + 1 > e->images_end) e->images_end = image + 1;
    int classes = e->o.decode == C8_DECODE_BOXES ? 0 : nc;
    if (e->o.decode == C8_DECODE_BOXES)
      for (int64_t j = 0; j < nb; j++) {
        int c = (int)img[j * stride_box + 5 * stride_field];
        if (c + 1 > classes) classes = c + 1;
      }
    if (classes > e->n_classes) e->n_classes = classes;
    for (int c = 0; c < classes && !st; c++) {
      int64_t n = 0;
      for (int64_t j = 0; j < nb; j++) {
        const float *q = img + j * stride_box;
#define F(k) q[(k) * stride_field]
        float score, box[4];
        if (e->o.decode == C8_DECODE_BOXES) {
          if ((int)F(5) != c) continue;
          score = F(4);
          box[0] = F(0), box[1] = F(1), box[2] = F(2), box[3] = F(3);
        } else {
          float cx = F(0), cy = F(1), w = F(2), h = F(3);
          score = e->o.decode == C8_DECODE_YOLOV5 ? F(4) * F(5 + c) : F(4 + c);
          box[0] = cx - w / 2, box[1] = cy - h / 2, box[2] = cx + w / 2, box[3] = cy + h / 2;
        }
#undef F
        if (!(score > e->o.conf)) continue;
        if (geom) {
          const double *gm = geom + 4 * r;
          box[0] = (float)((box[0] - gm[2]) / gm[0]);
          box[2] = (float)((box[2] - gm[2]) / gm[0]);
          box[1] = (float)((box[1] - gm[3]) / gm[1]);
          box[3] = (float)((box[3] - gm[3]) / gm[1]);
        }
        cs[n].score = score;
        cs[n].idx = n;
        memcpy(cs[n].box, box, sizeof box);
        n++;
      }
      if (!n) continue;
      qsort(cs, (size_t)n, sizeof *cs, by_score_desc_then_index_desc);
      memset(dead, 0, (size_t)n);
      for (int64_t i = 0; i < n && !st; i++) {
        if (dead[i]) continue;
        det d = {.score = cs[i].score, .image = image, .seq = e->seq++, .cls = c};
        memcpy(d.box, cs[i].box, sizeof d.box);
        st = push(e, &d);
        float ai = area_f(cs[i].box);
        for (int64_t j = i + 1; j < n; j++) {
          if (dead[j]) continue;
          float xx1 = fmaxf(cs[i].box[0], cs[j].box[0]), yy1 = fmaxf(cs[i].box[1], cs[j].box[1]);
          float xx2 = fminf(cs[i].box[2], cs[j].box[2]), yy2 = fminf(cs[i].box[3], cs[j].box[3]);
          float inter = fmaxf(xx2 - xx1, 0.0f) * fmaxf(yy2 - yy1, 0.0f);
          float iou = inter / (ai + area_f(cs[j].box) - inter + 1e-9f);
          if (!(iou < e->o.nms_iou)) dead[j] = 1;
        }
      }
    }
  }
  c8_mfree(cs);
  c8_mfree(dead);
  return st;
}

int64_t c8_det_eval_count(const c8_det_eval *e) { return e ? e->n : 0; }

void c8_det_eval_get(const c8_det_eval *e, int64_t i, int64_t *image, int *cls, float *score, float box[4]) {
  const det *d = &e->d[i];
  *image = d->image, *cls = d->cls, *score = d->score;
  memcpy(box, d->box, sizeof d->box);
}

static int by_score_stable(const void *a, const void *b) {
  const det *x = *(det *const *)a, *y = *(det *const *)b;
  if (x->score != y->score) return x->score < y->score ? 1 : -1;
  return x->seq < y->seq ? -1 : 1;
}

static double iou_d(const float *a, const c8_box *b) {
  double iw = fmax(0.0, fmin((double)a[2], b->x2) - fmax((double)a[0], b->x1));
  double ih = fmax(0.0, fmin((double)a[3], b->y2) - fmax((double)a[1], b->y1));
  double i = iw * ih;
  double aa = (double)area_f(a), ab = ((double)b->x2 - b->x1) * ((double)b->y2 - b->y1);
  return i / (aa + ab - i + 1e-9);
}

/* AP of one class at IoU threshold t. voc: all-point VOC with "best gt, used -> false positive";
 * else COCO: best unused gt, 101-point interpolation. Returns -1 when the class has no ground truth. */
static double class_ap(const c8_det_eval *e, int c, double t, bool voc, det **sorted, int64_t ns, unsigned char *used,
                       double *prec, double *rec) {
  const c8_det_labels *L = e->labels;
  int64_t npos = 0;
  for (int64_t i = 0; i < L->n_images && i < e->images_end; i++)
    for (int64_t b = L->first[i]; b < L->first[i + 1]; b++) npos += L->boxes[b].cls == c;
  if (npos == 0) return -1.0;
  memset(used, 0, (size_t)L->n_boxes + 1);
  int64_t tp = 0, fp = 0, k = 0;
  for (int64_t s = 0; s < ns; s++) {
    const det *d = sorted[s];
    if (d->cls != c) continue;
    double best = voc ? 0.0 : t - 1e-12;
    int64_t bi = -1;
    if (d->image < L->n_images)
      for (int64_t b = L->first[d->image]; b < L->first[d->image + 1]; b++) {
        if (L->boxes[b].cls != c || (!voc && used[b])) continue;
        double o = iou_d(d->box, &L->boxes[b]);
        if (o > best) best = o, bi = b;
      }
    if (voc ? (best >= t && bi >= 0 && !used[bi]) : bi >= 0) {
      used[bi] = 1;
      tp++;
    } else {
      fp++;
    }
    rec[k] = (double)tp / (double)npos;
    prec[k] = (double)tp / fmax((double)(tp + fp), 1e-9);
    k++;
  }
  /* precision envelope */
  for (int64_t i = k - 2; i >= 0; i--) prec[i] = fmax(prec[i], prec[i + 1]);
  if (voc) {
    double ap = 0.0, prev_r = 0.0;
    /* mrec = [0, rec, 1], mpre = [0, prec, 0]; sum (mrec[i+1]-mrec[i]) * mpre[i+1] where mrec changes */
    for (int64_t i = 0; i < k; i++) {
      if (rec[i] != prev_r) ap += (rec[i] - prev_r) * prec[i];
      prev_r = rec[i];
    }
    return ap; /* the final step to recall 1 has precision 0 */
  }
  double ap = 0.0;
  int64_t j = 0;
  for (int r = 0; r <= 100; r++) {
    double rt = r / 100.0;
    while (j < k && rec[j] < rt) j++;
    ap += j < k ? prec[j] : 0.0;
  }
  return ap / 101.0;
}

static double mean_ap(const c8_det_eval *e, bool coco) {
  if (!e->labels) return 0.0;
  int classes = e->n_classes;
  for (int64_t b = 0; b < e->labels->n_boxes; b++)
    if (e->labels->boxes[b].cls + 1 > classes) classes = (int)e->labels->boxes[b].cls + 1;
  det **sorted = c8_malloc(sizeof *sorted * (size_t)(e->n + 1));
  unsigned char *used = c8_malloc((size_t)e->labels->n_boxes + 1);
  double *prec = c8_malloc(sizeof(double) * (size_t)(e->n + 1)), *rec = c8_malloc(sizeof(double) * (size_t)(e->n + 1));
  double total = 0.0;
  int count = 0;
  if (sorted && used && prec && rec) {
    for (int64_t i = 0; i < e->n; i++) sorted[i] = &e->d[i];
    qsort(sorted, (size_t)e->n, sizeof *sorted, by_score_stable);
    for (int c = 0; c < classes; c++) {
      if (!coco) {
        double ap = class_ap(e, c, 0.5, true, sorted, e->n, used, prec, rec);
        if (ap >= 0) total += ap, count++;
      } else {
        double s = 0.0;
        bool has = false;
        for (int ti = 0; ti < 10; ti++) {
          double ap = class_ap(e, c, 0.5 + 0.05 * ti, false, sorted, e->n, used, prec, rec);
          if (ap >= 0) s += ap, has = true;
        }
        if (has) total += s / 10.0, count++;
      }
    }
  }
  c8_mfree(sorted);
  c8_mfree(used);
  c8_mfree(prec);
  c8_mfree(rec);
  return count ? total / count : 0.0;
}

double c8_det_eval_map50(const c8_det_eval *e) { return mean_ap(e, false); }
double c8_det_eval_map(const c8_det_eval *e) { return mean_ap(e, true); }
