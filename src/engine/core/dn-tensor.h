/* dn-tensor.h: float32 tensors in PyTorch layout.
 *
 * Row-major, contiguous, PyTorch's dimension order: activations are
 * (B, C, H, W) or (B, features); a Linear weight is (out, in); a Conv2d
 * weight is (out, in / groups, kh, kw). So a tensor maps one-to-one onto
 * the PyTorch state-dict entry of the same name.
 *
 * A DnTensor is a small value type (a view); it owns its data only when it
 * was made by dn_tensor_new(). `data` lives on the tensor's device.
 * DnShape is a shape without data (used for per-sample shapes, which leave
 * out the batch dimension).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define DN_MAX_DIMS 6

typedef enum {
    DN_DEVICE_CPU,
    DN_DEVICE_CUDA,
} DnDevice;

typedef struct {
    int ndim;
    int64_t d[DN_MAX_DIMS];
} DnShape;

typedef struct {
    float *data;
    int ndim;
    int64_t shape[DN_MAX_DIMS];
    DnDevice device;
    gboolean owns_data;
} DnTensor;

DnShape dn_shape_make (int ndim, const int64_t *d);
DnShape dn_shape_1d (int64_t a);
DnShape dn_shape_2d (int64_t a, int64_t b);
DnShape dn_shape_3d (int64_t a, int64_t b, int64_t c);
DnShape dn_shape_4d (int64_t a, int64_t b, int64_t c, int64_t d);
int64_t dn_shape_numel (const DnShape *s);
gboolean dn_shape_equal (const DnShape *a, const DnShape *b);
/* "(32, 26, 26)"; free with g_free. */
char *dn_shape_to_string (const DnShape *s);

/* A (batch, ...shape) tensor of zeros on the CPU; NULL + DN_ERROR_NOMEM on failure. */
DnTensor *dn_tensor_new (int64_t batch, const DnShape *shape, GError **error);
void dn_tensor_free (DnTensor *t);
int64_t dn_tensor_numel (const DnTensor *t);
/* The shape without its first (batch) dimension. */
DnShape dn_tensor_sample_shape (const DnTensor *t);
/* Sets a view: t->data = data, shape = (batch, ...shape). Does not own. */
void dn_tensor_view (DnTensor *t, float *data, int64_t batch, const DnShape *shape);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnTensor, dn_tensor_free)

G_END_DECLS
