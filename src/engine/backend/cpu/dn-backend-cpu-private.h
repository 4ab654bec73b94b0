/* dn-backend-cpu-private.h: the CPU backend's ops, one prototype per DnBackend member.
 * They are spread over dn-cpu-*.c files by topic; dn-backend-cpu.c fills the table. */
#pragma once

#include "dn-backend.h"

G_BEGIN_DECLS

/* A function the compiler builds twice, for AVX-512 (x86-64-v4) and for the baseline,
 * picked at load time: for loops that gain from the wider vectors. Use it only where
 * both builds give the same numbers (copies, adds, selects, no contractible a * b + c). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) &&       \
    __GNUC__ >= 11
#define DN_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "default")))
#else
#define DN_CLONES
#endif

void *dn_cpu_alloc (DnBackend *be, size_t bytes);
void dn_cpu_free (DnBackend *be, void *p);
void dn_cpu_upload (DnBackend *be, void *dst, const void *host_src, size_t bytes);
void dn_cpu_download (DnBackend *be, void *host_dst, const void *src, size_t bytes);
void dn_cpu_zero (DnBackend *be, float *x, size_t n);
void dn_cpu_copy (DnBackend *be, float *dst, const float *src, size_t n);
void dn_cpu_synchronize (DnBackend *be);
void dn_cpu_gemm (DnBackend *be, gboolean trans_a, gboolean trans_b, int m, int n, int k,
                  float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc);
void dn_cpu_axpy (DnBackend *be, size_t n, float alpha, const float *x, float *y);
void dn_cpu_scale (DnBackend *be, size_t n, float alpha, float *x);
void dn_cpu_add (DnBackend *be, size_t n, const float *x0, const float *x1, float *y);
void dn_cpu_mul (DnBackend *be, size_t n, const float *x, const float *m, float *y);
double dn_cpu_sum (DnBackend *be, const float *x, size_t n);
void dn_cpu_im2col (DnBackend *be, const DnConvGeom *g, int batch, const float *x, float *col);
void dn_cpu_col2im (DnBackend *be, const DnConvGeom *g, int batch, const float *col, float *dx);
void dn_cpu_transpose_outer (DnBackend *be, int rows, int batch, int inner, const float *src,
                             float *dst);
size_t dn_cpu_conv2d_workspace (DnBackend *be, const DnConvGeom *g, int batch);
void dn_cpu_conv2d_forward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f, int batch,
                            const float *x, const float *w, const float *bias, float *y,
                            float *workspace);
void dn_cpu_conv2d_backward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f, int batch,
                             const float *x, const float *w, const float *y, const float *dy,
                             float *dx, float *dw, float *db, float *workspace);
void dn_cpu_dendrite_forward (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                              const float *w, const float *r, size_t ld_slot, size_t ld_sample,
                              const DnConvFusion *f, float *s, float *out);
void dn_cpu_dendrite_backward (DnBackend *be, DnAct act, int k, int n, int c, int spatial,
                               const float *w, const float *s, const DnConvFusion *f,
                               const float *out, const float *dout, float *dr, size_t ld_slot,
                               size_t ld_sample, float *dw);
void dn_cpu_bias_add (DnBackend *be, int n, int c, int spatial, const float *b, float *y);
void dn_cpu_bias_backward (DnBackend *be, int n, int c, int spatial, const float *dy, float *db);
void dn_cpu_act_forward (DnBackend *be, DnAct act, float param, size_t n, const float *x, float *y);
void dn_cpu_act_backward (DnBackend *be, DnAct act, float param, size_t n, const float *x,
                          const float *y, const float *dy, float *dx);
void dn_cpu_maxpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch, const float *x,
                               float *y, int32_t *argmax);
void dn_cpu_maxpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch, const float *dy,
                                const int32_t *argmax, float *dx);
void dn_cpu_avgpool2d_forward (DnBackend *be, const DnConvGeom *g, int batch,
                               gboolean count_include_pad, const float *x, float *y);
void dn_cpu_avgpool2d_backward (DnBackend *be, const DnConvGeom *g, int batch,
                                gboolean count_include_pad, const float *dy, float *dx);
void dn_cpu_batchnorm_forward_train (DnBackend *be, int n, int c, int spatial, const float *x,
                                     const float *gamma, const float *beta, float eps,
                                     float momentum, float *running_mean, float *running_var,
                                     float *y, float *save_mean, float *save_invstd);
void dn_cpu_batchnorm_forward_eval (DnBackend *be, int n, int c, int spatial, const float *x,
                                    const float *gamma, const float *beta, float eps,
                                    const float *running_mean, const float *running_var, float *y);
void dn_cpu_batchnorm_backward (DnBackend *be, int n, int c, int spatial, const float *x,
                                const float *dy, const float *gamma, const float *save_mean,
                                const float *save_invstd, float *dx, float *dgamma, float *dbeta);
void dn_cpu_layernorm_forward (DnBackend *be, int rows, int cols, const float *x,
                               const float *gamma, const float *beta, float eps, float *y,
                               float *save_mean, float *save_invstd);
void dn_cpu_layernorm_backward (DnBackend *be, int rows, int cols, const float *x, const float *dy,
                                const float *gamma, const float *save_mean,
                                const float *save_invstd, float *dx, float *dgamma, float *dbeta);
void dn_cpu_softmax_forward (DnBackend *be, gboolean log, int rows, int cols, const float *x,
                             float *y);
void dn_cpu_softmax_backward (DnBackend *be, gboolean log, int rows, int cols, const float *y,
                              const float *dy, float *dx);
/* Elements [lo, hi) of dropout forward (x == y allowed) or backward (x is dy, y is dx);
 * dn-backend-cpu.c splits the ops into such slices. */
void dn_cpu_dropout_slice (size_t lo, size_t hi, float p, uint64_t seed, gboolean backward,
                           const float *x, float *y);
void dn_cpu_segment_select (DnBackend *be, DnGateMode mode, int n_ctx, int units, int segments,
                            const float *resp, int32_t *win, float *g);
void dn_cpu_gate_forward (DnBackend *be, DnGateMode mode, int batch, int units, const float *t,
                          const float *g, const int32_t *ctx_index, float *y);
void dn_cpu_gate_backward (DnBackend *be, DnGateMode mode, int batch, int units, const float *t,
                           const float *g, const int32_t *ctx_index, const float *dy, float *dt,
                           float *dg);
void dn_cpu_segment_grad (DnBackend *be, int n_ctx, int units, int segments, int dim,
                          const int32_t *win, const float *dg, const float *contexts, float *du,
                          guint8 *rows_touched);
void dn_cpu_segment_rows (DnBackend *be, int n, const int32_t *rows, int dim, const float *u,
                          const float *context, float *resp);
void dn_cpu_kwta_forward (DnBackend *be, int rows, int cols, int k, const float *x, float *y,
                          guint8 *mask);
void dn_cpu_kwta_backward (DnBackend *be, int rows, int cols, const guint8 *mask, const float *dy,
                           float *dx);
size_t dn_cpu_count_nonzero (DnBackend *be, const float *x, size_t n);
void dn_cpu_sparse_rows_gemm (DnBackend *be, int rows, int k, int n, const float *a,
                              const float *b, float *y);
void dn_cpu_sparse_gemm_nt (DnBackend *be, int rows, int k, int n, const float *a,
                            const float *b, float *y);
void dn_cpu_sparse_outer (DnBackend *be, int rows, int k, int n, const float *a, const float *b,
                          float *c);
void dn_cpu_cross_entropy (DnBackend *be, int rows, int cols, const float *logits,
                           const int32_t *labels, float label_smoothing, float scale, double *loss,
                           float *dlogits);
void dn_cpu_nll (DnBackend *be, int rows, int cols, const float *logp, const int32_t *labels,
                 float scale, double *loss, float *dlogp);
void dn_cpu_mse (DnBackend *be, int rows, int cols, const float *pred, const float *target,
                 float scale, double *loss, float *dpred);
void dn_cpu_bce_logits (DnBackend *be, int rows, int cols, const float *logits, const float *target,
                        float scale, double *loss, float *dlogits);
void dn_cpu_one_hot (DnBackend *be, int rows, int cols, const int32_t *labels, float *targets);
int dn_cpu_count_correct (DnBackend *be, int rows, int cols, const float *logits,
                          const int32_t *labels);
void dn_cpu_sgd_update (DnBackend *be, size_t n, float *w, const float *g, float *momentum_buf,
                        float lr, float momentum, float dampening, gboolean nesterov,
                        float weight_decay, gboolean first_step);
void dn_cpu_adam_update (DnBackend *be, size_t n, float *w, const float *g, float *m, float *v,
                         float *vmax, float lr, float beta1, float beta2, float eps,
                         float weight_decay, gboolean decoupled, gboolean amsgrad, int64_t step);
void dn_cpu_adadelta_update (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                             float *acc_delta, float lr, float rho, float eps, float weight_decay);
void dn_cpu_rmsprop_update (DnBackend *be, size_t n, float *w, const float *g, float *sq_avg,
                            float *grad_avg, float *momentum_buf, float lr, float alpha, float eps,
                            float weight_decay, float momentum, gboolean centered);

/* Threads for our own loops (BLAS runs single-threaded inside them). */
int dn_cpu_threads (void);

G_END_DECLS
