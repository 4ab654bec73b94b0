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
 *
 * A file is mapped, not read: its header is checked first. Opened with
 * dn_safetensors_open, a tensor's bytes are converted only when the tensor is
 * asked for, so inspecting a large model costs its header and the tensors
 * used; dn_safetensors_read converts them all.
 */
#pragma once

#include "dn-file.h"
#include "dn-tensor.h"

G_BEGIN_DECLS

/* Readers cap the header, as the reference implementation does; the writer
 * refuses to go over it. */
#define DN_SAFETENSORS_MAX_HEADER ((guint64) 100 * 1000 * 1000)

typedef struct {
    char *name;
    DnShape shape;
    char *dtype; /* as stored: "F32", "I64", ... */
    float *data; /* numel(shape) floats, converted; NULL until loaded (see below) */
    /* private: where the stored bytes are, for loading on demand */
    const guint8 *src;
    gconstpointer src_dtype;
    guint64 numel;
} DnStTensor;

typedef struct {
    GPtrArray *tensors;   /* DnStTensor*, in file order */
    GHashTable *metadata; /* char* -> char*, never NULL */
    GMappedFile *map;     /* private: the file, for tensors not loaded yet */
} DnSafetensors;

/* Maps the file and checks its header and every tensor's place in it; no tensor
 * is converted yet (dn_safetensors_tensor_data does that). Errors: not a regular
 * file, not safetensors (with a hint for PyTorch zip/pickle files), truncated,
 * header too large (> 100 MB), bad JSON, bad dtype, offsets out of range or
 * overlapping or leaving holes. */
DnSafetensors *dn_safetensors_open (const char *path, GError **error);
/* dn_safetensors_open, then every tensor converted: each t->data is set. */
DnSafetensors *dn_safetensors_read (const char *path, GError **error);
/* The same from memory, with every tensor converted at once (the bytes need not
 * outlive the result; the fuzz target uses this). */
DnSafetensors *dn_safetensors_parse (const guint8 *bytes, gsize len, const char *what,
                                     GError **error);
void dn_safetensors_free (DnSafetensors *st);
/* The tensor's floats, converting them on first use; NULL with DN_ERROR_NOMEM
 * when they cannot be allocated. */
const float *dn_safetensors_tensor_data (DnSafetensors *st, DnStTensor *t, GError **error);
/* Frees a tensor's converted floats when the file can give them again. */
void dn_safetensors_tensor_release (DnSafetensors *st, DnStTensor *t);
/* The tensor named `name`, its data loaded; NULL when there is none (or, with a
 * warning, when its data cannot be allocated). */
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
/* The same, with the last part of the atomic write (sync and rename) left running
 * on a thread of its own in *pending (NULL when it was done here); pending == NULL
 * is dn_safetensors_write(). See dn_file_atomic_commit_start(). */
gboolean dn_safetensors_write_pending (const char *path, const DnStWrite *tensors, int n,
                                       GHashTable *metadata, DnFileCommit **pending,
                                       GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnSafetensors, dn_safetensors_free)

G_END_DECLS
