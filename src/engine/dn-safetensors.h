/* dn-safetensors.h: the safetensors file format, read and written by hand.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON (padded with
 * spaces so the data starts 8-aligned), then the tensors' bytes, tiled with
 * no holes. Offsets in the header are relative to the data start. The
 * optional "__metadata__" object maps strings to strings.
 *
 * We write F32 only; we read F32, F16, BF16, F64 and the integer types
 * (converted to float; I64 for num_batches_tracked). Every offset, shape and
 * size is checked against the file before any data is touched.
 */
#pragma once

#include "dn-tensor.h"

G_BEGIN_DECLS

typedef struct {
    char *name;
    DnShape shape;
    char *dtype; /* as stored: "F32", "I64", ... */
    float *data; /* numel(shape) floats, converted */
} DnStTensor;

typedef struct {
    GPtrArray *tensors;   /* DnStTensor*, in file order */
    GHashTable *metadata; /* char* -> char*, never NULL */
} DnSafetensors;

/* Reads the whole file. Errors: not safetensors (with a hint for PyTorch
 * zip/pickle files), truncated, header too large (> 100 MB), bad JSON, bad
 * dtype, offsets out of range or overlapping or leaving holes. */
DnSafetensors *dn_safetensors_read (const char *path, GError **error);
/* Same from memory (the fuzz target uses this). */
DnSafetensors *dn_safetensors_parse (const guint8 *bytes, gsize len, const char *what,
                                     GError **error);
void dn_safetensors_free (DnSafetensors *st);
DnStTensor *dn_safetensors_find (DnSafetensors *st, const char *name);
const char *dn_safetensors_metadata (DnSafetensors *st, const char *key);

/* A tensor to write: data is numel(shape) floats on the host. */
typedef struct {
    const char *name;
    DnShape shape;
    const float *data;
} DnStWrite;

/* Writes atomically (temporary file + rename). metadata may be NULL. */
gboolean dn_safetensors_write (const char *path, const DnStWrite *tensors, int n,
                               GHashTable *metadata, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnSafetensors, dn_safetensors_free)

G_END_DECLS
