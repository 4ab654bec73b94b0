/* dn-data.c: datasets in memory: the IDX reader (raw or gzip, detected by
 * content), the MNIST-layout folder loader, subsets, seeded splits,
 * normalisation statistics and the mini-batch copy of the training loop.
 *
 * IDX layout (all integers big-endian): a magic 00 00 TT NN, where TT is the
 * element type (0x08: unsigned byte) and NN the number of dimensions, then NN
 * u32 sizes, then the elements. Images are 0x00000803 (count, rows, cols),
 * labels 0x00000801 (count). Every size is checked before anything is
 * allocated, and a gzip payload is inflated into a buffer that grows with the
 * data actually decompressed, so a hostile header cannot make us allocate
 * gigabytes for a file of a few bytes.
 */
#include "dn-data.h"
#include "dn-error.h"
#include "dn-parallel.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAX_SIDE 65536u
#define IDX_MAX_ELEMENTS (G_GUINT64_CONSTANT (1) << 31)
#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u

/* ---- reading raw or gzip bytes as one stream ---- */

typedef struct {
    const guint8 *bytes;
    gsize len;
    gsize pos; /* next input byte not yet handed to zlib (gzip) or read (raw) */
    const char *name;
    gboolean gz;
    gboolean zs_ready;
    gboolean gz_cut; /* the gzip stream ended before its end marker */
    gboolean done;
    z_stream zs;
} IdxStream;

static gboolean idx_stream_init (IdxStream *s, const guint8 *bytes, gsize len, const char *name,
                                 GError **error)
{
    memset (s, 0, sizeof *s);
    s->bytes = bytes;
    s->len = len;
    s->name = name;
    s->gz = len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
    if (!s->gz)
        return TRUE;
    /* 15 + 16: a gzip wrapper only, so zlib checks the header and the CRC. */
    if (inflateInit2 (&s->zs, 15 + 16) != Z_OK) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM, "Cannot start decompressing '%s'", name);
        return FALSE;
    }
    s->zs_ready = TRUE;
    return TRUE;
}

static void idx_stream_clear (IdxStream *s)
{
    if (s->zs_ready)
        inflateEnd (&s->zs);
    s->zs_ready = FALSE;
}

/* Reads up to len bytes; fewer only at the end of the data. -1 on corrupt gzip. */
static gssize idx_stream_read (IdxStream *s, guint8 *buf, gsize len, GError **error)
{
    if (!s->gz) {
        gsize n = MIN (len, s->len - s->pos);
        if (n > 0)
            memcpy (buf, s->bytes + s->pos, n);
        s->pos += n;
        return (gssize) n;
    }
    gsize got = 0;
    while (got < len && !s->done) {
        if (s->zs.avail_in == 0 && s->pos < s->len) {
            gsize chunk = MIN (s->len - s->pos, (gsize) (1u << 30));
            s->zs.next_in = (Bytef *) (s->bytes + s->pos);
            s->zs.avail_in = (uInt) chunk;
            s->pos += chunk;
        }
        gsize want = MIN (len - got, (gsize) (1u << 30));
        s->zs.next_out = buf + got;
        s->zs.avail_out = (uInt) want;
        uInt in_before = s->zs.avail_in;
        int rc = inflate (&s->zs, Z_NO_FLUSH);
        gsize produced = want - s->zs.avail_out;
        got += produced;
        if (rc == Z_STREAM_END) {
            /* Concatenated gzip members continue the data; anything else ends it. */
            gsize left = s->zs.avail_in + (s->len - s->pos);
            const guint8 *next = s->zs.avail_in ? s->zs.next_in : s->bytes + s->pos;
            if (left >= 2 && next[0] == 0x1f && next[1] == 0x8b) {
                inflateReset (&s->zs);
            } else {
                s->done = TRUE;
            }
        } else if ((rc == Z_OK || rc == Z_BUF_ERROR) && produced == 0 &&
                   s->zs.avail_in == in_before) {
            /* No progress: either the input is used up (a cut-off stream) or zlib is stuck. */
            if (in_before != 0)
                goto corrupt;
            s->gz_cut = TRUE;
            s->done = TRUE;
        } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
            continue;
        } else if (rc == Z_MEM_ERROR) {
            g_set_error (error, DN_ERROR, DN_ERROR_NOMEM, "Out of memory decompressing '%s'",
                         s->name);
            return -1;
        } else {
            goto corrupt;
        }
    }
    return (gssize) got;

corrupt:
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "'%s' starts like a gzip file but its data is corrupt (%s); "
                 "download it again or check it with gunzip -t",
                 s->name, s->zs.msg ? s->zs.msg : "bad gzip data");
    return -1;
}

static const char *idx_cut_note (const IdxStream *s)
{
    if (!s->gz)
        return "";
    return s->gz_cut ? " (after decompression; the gzip stream itself is cut off)"
                     : " (after decompression)";
}

/* ---- IDX headers and payloads ---- */

typedef struct {
    IdxStream s;
    gboolean images;
    uint32_t count, rows, cols;
    guint64 payload; /* bytes of elements the header announces */
} IdxFile;

static uint32_t be32 (const guint8 *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static void idx_magic_error (const IdxFile *f, uint32_t magic, GError **error)
{
    uint32_t want = f->images ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    const char *what = f->images ? "image" : "label";
    const char *want_desc = f->images ? "unsigned bytes, 3 dimensions: count, rows, cols"
                                      : "unsigned bytes, 1 dimension: count";
    const char *hint;
    g_autofree char *owned_hint = NULL;

    if (f->images && magic == IDX_MAGIC_LABELS) {
        hint = "It is a label file: are the image and label files swapped?";
    } else if (!f->images && magic == IDX_MAGIC_IMAGES) {
        hint = "It is an image file: are the image and label files swapped?";
    } else if (magic == 0x03080000u || magic == 0x01080000u) {
        hint = "The bytes are in little-endian order; IDX numbers are big-endian.";
    } else if ((magic >> 16) != 0) {
        hint = "The file is not in IDX format (raw or gzip-compressed).";
    } else if (((magic >> 8) & 0xff) != 0x08) {
        owned_hint = g_strdup_printf ("Its element type is 0x%02X; only unsigned bytes (0x08) "
                                      "are supported.",
                                      (magic >> 8) & 0xff);
        hint = owned_hint;
    } else {
        owned_hint = g_strdup_printf ("It has %u dimensions.", magic & 0xff);
        hint = owned_hint;
    }
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "'%s' is not an IDX %s file: its magic number is 0x%08X, expected 0x%08X (%s). %s",
                 f->s.name, what, magic, want, want_desc, hint);
}

static gboolean idx_read_header (IdxFile *f, GError **error)
{
    guint8 head[16];
    gssize got = idx_stream_read (&f->s, head, 4, error);
    if (got < 0)
        return FALSE;
    if (got < 4) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' is truncated: it holds %d bytes%s, but an IDX file starts with a "
                     "4-byte magic number; the file is empty or was cut off",
                     f->s.name, (int) got, idx_cut_note (&f->s));
        return FALSE;
    }
    uint32_t magic = be32 (head);
    uint32_t want = f->images ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    if (magic != want) {
        idx_magic_error (f, magic, error);
        return FALSE;
    }
    gsize ndim = f->images ? 3 : 1;
    got = idx_stream_read (&f->s, head + 4, 4 * ndim, error);
    if (got < 0)
        return FALSE;
    if ((gsize) got < 4 * ndim) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' is truncated: its header needs %d bytes but the file ends after "
                     "%d%s; the file was cut off",
                     f->s.name, (int) (4 + 4 * ndim), (int) (4 + got), idx_cut_note (&f->s));
        return FALSE;
    }
    f->count = be32 (head + 4);
    f->rows = f->images ? be32 (head + 8) : 1;
    f->cols = f->images ? be32 (head + 12) : 1;
    if (f->count > (uint32_t) INT_MAX) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' claims %u samples, more than the %d a dataset can hold; "
                     "the header is corrupt",
                     f->s.name, f->count, INT_MAX);
        return FALSE;
    }
    if (f->images &&
        (f->rows == 0 || f->cols == 0 || f->rows > IDX_MAX_SIDE || f->cols > IDX_MAX_SIDE)) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' claims images of %u x %u pixels; each side must be 1 to %u, "
                     "so the header is corrupt",
                     f->s.name, f->rows, f->cols, IDX_MAX_SIDE);
        return FALSE;
    }
    f->payload = (guint64) f->count * f->rows * f->cols;
    if (f->payload > IDX_MAX_ELEMENTS) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' claims %u images of %u x %u pixels (%" G_GUINT64_FORMAT
                     " bytes), more than the 2^31 a dataset may hold; the header is corrupt "
                     "or the set must be split into smaller files",
                     f->s.name, f->count, f->rows, f->cols, f->payload);
        return FALSE;
    }
    /* Raw bytes: the length is known, so a lying header is caught before allocating. */
    if (!f->s.gz && f->s.len - f->s.pos != f->payload) {
        gsize have = f->s.len - f->s.pos;
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' %s: its header announces %u %s (%" G_GUINT64_FORMAT
                     " bytes after the header) but %" G_GSIZE_FORMAT
                     " bytes follow; the file was cut off or its header is wrong",
                     f->s.name,
                     have < f->payload ? "is truncated" : "is longer than its header says",
                     f->count, f->images ? "images" : "labels", f->payload, have);
        return FALSE;
    }
    return TRUE;
}

/* Reads the elements into a new buffer that grows with the data really present. */
static guint8 *idx_read_payload (IdxFile *f, GError **error)
{
    gsize total = (gsize) f->payload;
    gsize cap = MIN (total, (gsize) (1u << 24));
    guint8 *buf = g_try_malloc (MAX (cap, 1));
    gsize got = 0;
    if (buf == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory reading '%s': it needs %.1f MB", f->s.name,
                     MAX (cap, 1) / 1e6);
        return NULL;
    }
    while (got < total) {
        if (got == cap) {
            cap = MIN (total, cap * 2);
            guint8 *bigger = g_try_realloc (buf, cap);
            if (bigger == NULL) {
                g_free (buf);
                g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                             "out of memory reading '%s': it needs %.1f MB", f->s.name,
                             total / 1e6);
                return NULL;
            }
            buf = bigger;
        }
        gssize n = idx_stream_read (&f->s, buf + got, cap - got, error);
        if (n < 0) {
            g_free (buf);
            return NULL;
        }
        got += (gsize) n;
        if (got < cap)
            break;
    }
    if (got < total) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' is truncated: its header announces %u %s (%" G_GSIZE_FORMAT
                     " bytes) but only %" G_GSIZE_FORMAT
                     " follow%s; the file was cut off or its header is wrong",
                     f->s.name, f->count, f->images ? "images" : "labels", total, got,
                     idx_cut_note (&f->s));
        g_free (buf);
        return NULL;
    }
    guint8 extra;
    gssize n = idx_stream_read (&f->s, &extra, 1, error);
    if (n != 0) {
        if (n > 0)
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "'%s' holds more data than its header announces (%u %s, %" G_GSIZE_FORMAT
                         " bytes after decompression); the header's count is wrong",
                         f->s.name, f->count, f->images ? "images" : "labels", total);
        g_free (buf);
        return NULL;
    }
    return buf;
}

static DnDataset *dataset_new (const char *source)
{
    DnDataset *d = g_new0 (DnDataset, 1);
    d->source = g_strdup (source);
    return d;
}

DnDataset *dn_dataset_parse_idx (const guint8 *images, gsize images_len, const char *images_name,
                                 const guint8 *labels, gsize labels_len, const char *labels_name,
                                 GError **error)
{
    IdxFile fi = {.images = TRUE}, fl = {.images = FALSE};
    DnDataset *d = NULL;
    guint8 *pixels = NULL, *label_bytes = NULL;

    if (!idx_stream_init (&fi.s, images, images_len, images_name, error))
        goto out;
    if (!idx_stream_init (&fl.s, labels, labels_len, labels_name, error))
        goto out;
    /* Both headers first: a count mismatch is reported without inflating megabytes. */
    if (!idx_read_header (&fi, error) || !idx_read_header (&fl, error))
        goto out;
    if (fi.count != fl.count) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "'%s' holds %u images but '%s' holds %u labels; use the image and label "
                     "files of the same set (train with train, t10k with t10k)",
                     images_name, fi.count, labels_name, fl.count);
        goto out;
    }
    pixels = idx_read_payload (&fi, error);
    if (pixels == NULL)
        goto out;
    label_bytes = idx_read_payload (&fl, error);
    if (label_bytes == NULL)
        goto out;

    int32_t *lab = dn_data_try_alloc (fl.count, sizeof (int32_t), "the labels", labels_name,
                                      error);
    if (lab == NULL)
        goto out;
    int max_label = -1;
    for (uint32_t i = 0; i < fl.count; i++) {
        lab[i] = label_bytes[i];
        max_label = MAX (max_label, lab[i]);
    }
    d = dataset_new (images_name);
    d->n = (int) fi.count;
    d->shape = dn_shape_3d (1, fi.rows, fi.cols);
    d->u8 = pixels;
    pixels = NULL;
    d->labels = lab;
    d->n_classes = max_label + 1;

out:
    g_free (pixels);
    g_free (label_bytes);
    idx_stream_clear (&fi.s);
    idx_stream_clear (&fl.s);
    return d;
}

static GMappedFile *map_file (const char *path, const char *what, GError **error)
{
    g_autoptr (GError) local = NULL;
    GMappedFile *m = g_mapped_file_new (path, FALSE, &local);
    if (m != NULL)
        return m;
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "The %s '%s' does not exist; check the path",
                     what, path);
    else
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "Cannot read the %s '%s': %s", what, path,
                     local->message);
    return NULL;
}

DnDataset *dn_dataset_load_idx (const char *images_path, const char *labels_path, GError **error)
{
    GMappedFile *mi = map_file (images_path, "IDX image file", error);
    if (mi == NULL)
        return NULL;
    GMappedFile *ml = map_file (labels_path, "IDX label file", error);
    if (ml == NULL) {
        g_mapped_file_unref (mi);
        return NULL;
    }
    DnDataset *d = dn_dataset_parse_idx ((const guint8 *) g_mapped_file_get_contents (mi),
                                         g_mapped_file_get_length (mi), images_path,
                                         (const guint8 *) g_mapped_file_get_contents (ml),
                                         g_mapped_file_get_length (ml), labels_path, error);
    g_mapped_file_unref (mi);
    g_mapped_file_unref (ml);
    return d;
}

/* The first of dir/<stem>, dir/<stem>.gz that exists, or NULL; *tried lists them. */
static char *find_idx_file (const char *dir, const char *stem, GString *tried)
{
    const char *suffixes[] = {"", ".gz"};
    for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++) {
        g_autofree char *name = g_strconcat (stem, suffixes[i], NULL);
        char *path = g_build_filename (dir, name, NULL);
        if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            return path;
        g_free (path);
        g_string_append_printf (tried, "%s%s", tried->len ? ", " : "", name);
    }
    return NULL;
}

DnDataset *dn_dataset_load_idx_dir (const char *dir, const char *split, GError **error)
{
    const char *prefix;
    if (g_strcmp0 (split, "train") == 0)
        prefix = "train";
    else if (g_strcmp0 (split, "test") == 0 || g_strcmp0 (split, "t10k") == 0)
        prefix = "t10k";
    else {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "Unknown split '%s' for the IDX folder '%s'; use \"train\" or \"test\"",
                     split ? split : "(null)", dir);
        return NULL;
    }
    if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "The IDX folder '%s' does not exist or is not a folder; check the path", dir);
        return NULL;
    }
    g_autofree char *img_stem = g_strconcat (prefix, "-images-idx3-ubyte", NULL);
    g_autofree char *lab_stem = g_strconcat (prefix, "-labels-idx1-ubyte", NULL);
    g_autoptr (GString) tried_img = g_string_new (NULL);
    g_autoptr (GString) tried_lab = g_string_new (NULL);
    g_autofree char *img = find_idx_file (dir, img_stem, tried_img);
    g_autofree char *lab = find_idx_file (dir, lab_stem, tried_lab);
    if (img == NULL || lab == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "The folder '%s' has no %s %s: looked for %s%s%s; it needs the MNIST "
                     "layout (%s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz])",
                     dir, split,
                     img == NULL && lab == NULL ? "images or labels"
                     : img == NULL              ? "images"
                                                : "labels",
                     img == NULL ? tried_img->str : "", img == NULL && lab == NULL ? ", " : "",
                     lab == NULL ? tried_lab->str : "", prefix, prefix);
        return NULL;
    }
    return dn_dataset_load_idx (img, lab, error);
}

/* ---- whole-dataset operations ---- */

gpointer dn_data_try_alloc (gsize n, gsize size, const char *what, const char *source,
                            GError **error)
{
    gpointer p = NULL;
    if (size == 0 || n <= G_MAXSIZE / size)
        p = g_try_malloc (MAX (n * size, 1));
    if (p == NULL)
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory: %s of '%s' needs %.1f MB; free some memory or use a "
                     "smaller dataset",
                     what, source ? source : "the data", (double) n * (double) size / 1e6);
    return p;
}

void dn_dataset_free (DnDataset *d)
{
    if (d == NULL)
        return;
    if (d->extra_refs > 0) {
        /* views still read its storage: the last one to go frees it */
        d->extra_refs--;
        return;
    }
    if (d->base != NULL) {
        dn_dataset_free (d->base);
    } else {
        g_free (d->u8);
        g_free (d->f32);
    }
    g_free (d->rows);
    g_free (d->labels);
    g_strfreev (d->class_names);
    g_free (d->source);
    g_free (d);
}

void dn_dataset_classes (const DnDataset *d, DnClassList *out)
{
    out->kind = d->label_kind;
    out->n_classes = d->n_classes;
    out->names = d->class_names;
}

DnDataset *dn_dataset_subset (DnDataset *d, const int *indices, int n, GError **error)
{
    g_return_val_if_fail (d != NULL && n >= 0 && (n == 0 || indices != NULL), NULL);
    int *rows = dn_data_try_alloc ((gsize) n, sizeof (int), "the sample index of a split",
                                   d->source, error);
    int32_t *labels = rows == NULL ? NULL
                                   : dn_data_try_alloc ((gsize) n, sizeof (int32_t),
                                                        "the labels of a split", d->source, error);
    if (labels == NULL) {
        g_free (rows);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        int k = indices[i];
        g_assert (k >= 0 && k < d->n);
        rows[i] = (int) dn_dataset_row (d, k);
        labels[i] = d->labels[k];
    }
    DnDataset *base = d->base != NULL ? d->base : d;
    DnDataset *s = dataset_new (d->source);
    s->n = n;
    s->shape = d->shape;
    s->n_classes = d->n_classes;
    s->label_kind = d->label_kind;
    s->class_names = g_strdupv (d->class_names);
    s->rows = rows;
    s->labels = labels;
    s->u8 = base->u8;
    s->f32 = base->f32;
    s->base = base;
    base->extra_refs++;
    return s;
}

static int cmp_int (gconstpointer a, gconstpointer b)
{
    int x = *(const int *) a, y = *(const int *) b;
    return (x > y) - (x < y);
}

gboolean dn_dataset_split (DnDataset *d, double val_fraction, DnRng *rng, DnDataset **train,
                           DnDataset **val, GError **error)
{
    g_return_val_if_fail (d != NULL && rng != NULL && train != NULL && val != NULL, FALSE);
    *train = *val = NULL;
    if (!(val_fraction > 0.0))
        val_fraction = 0.0;
    if (val_fraction > 1.0)
        val_fraction = 1.0;
    int n_val = (int) (d->n * val_fraction + 0.5);
    n_val = CLAMP (n_val, 0, d->n);
    int *perm = dn_data_try_alloc ((gsize) d->n, sizeof (int), "the shuffled order of a split",
                                   d->source, error);
    if (perm == NULL)
        return FALSE;
    dn_rng_permutation (rng, perm, d->n);
    /* Chosen at random, kept in file order: better locality, same determinism. */
    qsort (perm, n_val, sizeof (int), cmp_int);
    qsort (perm + n_val, d->n - n_val, sizeof (int), cmp_int);
    *val = dn_dataset_subset (d, perm, n_val, error);
    if (*val != NULL)
        *train = dn_dataset_subset (d, perm + n_val, d->n - n_val, error);
    g_free (perm);
    if (*train == NULL) {
        g_clear_pointer (val, dn_dataset_free);
        return FALSE;
    }
    return TRUE;
}

/* Channels of a sample: the first dimension of a (c, h, w) shape, else one. */
static int sample_channels (const DnShape *shape)
{
    if (shape->ndim == 3 && shape->d[0] >= 1 && shape->d[0] <= 16)
        return (int) shape->d[0];
    return 1;
}

void dn_dataset_compute_normalize (const DnDataset *d, DnNormalize *norm)
{
    g_return_if_fail (d != NULL && norm != NULL);
    memset (norm, 0, sizeof *norm);
    int C = sample_channels (&d->shape);
    gsize numel = (gsize) dn_shape_numel (&d->shape);
    gsize inner = numel / (gsize) C;
    norm->n_channels = C;
    for (int c = 0; c < C; c++) {
        norm->mean[c] = 0.0f;
        norm->std[c] = 1.0f;
    }
    if (d->n == 0 || inner == 0)
        return;
    double count = (double) d->n * (double) inner;

    if (d->u8 != NULL) {
        /* A histogram per channel: exact, and a single pass over the bytes. */
        guint64 *hist = g_new0 (guint64, 256 * (gsize) C);
        for (int i = 0; i < d->n; i++) {
            const guint8 *x = d->u8 + dn_dataset_row (d, i) * numel;
            for (int c = 0; c < C; c++) {
                guint64 *h = hist + 256 * c;
                const guint8 *xc = x + (gsize) c * inner;
                for (gsize j = 0; j < inner; j++)
                    h[xc[j]]++;
            }
        }
        for (int c = 0; c < C; c++) {
            double s1 = 0.0, s2 = 0.0;
            for (int v = 0; v < 256; v++) {
                double h = (double) hist[256 * c + v];
                s1 += h * v;
                s2 += h * v * v;
            }
            double mean = s1 / count;
            double var = MAX (s2 / count - mean * mean, 0.0);
            norm->mean[c] = (float) (mean / 255.0);
            norm->std[c] = (float) (sqrt (var) / 255.0);
        }
        g_free (hist);
    } else if (d->f32 != NULL) {
        for (int c = 0; c < C; c++) {
            double s1 = 0.0, s2 = 0.0;
            for (int i = 0; i < d->n; i++) {
                const float *xc = d->f32 + dn_dataset_row (d, i) * numel + (gsize) c * inner;
                for (gsize j = 0; j < inner; j++)
                    s1 += xc[j];
            }
            double mean = s1 / count;
            for (int i = 0; i < d->n; i++) {
                const float *xc = d->f32 + dn_dataset_row (d, i) * numel + (gsize) c * inner;
                for (gsize j = 0; j < inner; j++) {
                    double t = xc[j] - mean;
                    s2 += t * t;
                }
            }
            norm->mean[c] = (float) mean;
            norm->std[c] = (float) sqrt (s2 / count);
        }
    }
    /* A constant channel would divide by zero; leave it unscaled instead. */
    for (int c = 0; c < C; c++)
        if (!(norm->std[c] > 1e-12f))
            norm->std[c] = 1.0f;
}

/* A batch copy: the samples' rows scaled and shifted into x, per channel. */
typedef struct {
    const DnDataset *d;
    const int *indices;
    int n, channels;
    gsize numel, inner;
    float scale[16], bias[16];
    float *x;
} BatchJob;

static void scale_u8 (const guint8 *restrict s, gsize n, float a, float b, float *restrict o)
{
    for (gsize e = 0; e < n; e++)
        o[e] = (float) s[e] * a + b;
}

static void scale_f32 (const float *restrict s, gsize n, float a, float b, float *restrict o)
{
    for (gsize e = 0; e < n; e++)
        o[e] = s[e] * a + b;
}

/* Copies samples [lo, hi) of the batch in one pass each, while the next one's row
 * is fetched: the rows are scattered over the dataset, and the conversion is too
 * quick to hide the memory's latency by itself. */
static void batch_copy (const BatchJob *j, int lo, int hi)
{
    const DnDataset *d = j->d;
    const gsize numel = j->numel, inner = j->inner;
    const gsize elem = d->u8 != NULL ? 1 : sizeof (float);
    const char *base = d->u8 != NULL ? (const char *) d->u8 : (const char *) d->f32;
    for (int i = lo; i < hi; i++) {
        int k = j->indices[i];
        g_assert (k >= 0 && k < d->n);
        if (i + 1 < hi) {
            int next = j->indices[i + 1];
            g_assert (next >= 0 && next < d->n);
            const char *p = base + dn_dataset_row (d, next) * numel * elem;
            for (gsize off = 0; off < numel * elem; off += 64)
                __builtin_prefetch (p + off);
        }
        const char *src = base + dn_dataset_row (d, k) * numel * elem;
        float *out = j->x + (gsize) i * numel;
        for (int c = 0; c < j->channels; c++) {
            gsize off = (gsize) c * inner;
            if (d->u8 != NULL)
                scale_u8 ((const guint8 *) src + off, inner, j->scale[c], j->bias[c], out + off);
            else
                scale_f32 ((const float *) src + off, inner, j->scale[c], j->bias[c], out + off);
        }
    }
}

static void batch_task (int t, int n_tasks, gpointer data)
{
    const BatchJob *j = data;
    size_t lo, hi;
    dn_parallel_slice ((size_t) j->n, t, n_tasks, &lo, &hi);
    batch_copy (j, (int) lo, (int) hi);
}

/* Values a task of the batch copy should write at least: fewer cost more to hand
 * to another thread than they take to convert. */
#define BATCH_MIN_PER_TASK 32768

void dn_dataset_get_batch (const DnDataset *d, const int *indices, int n, const DnNormalize *norm,
                           float *x, int32_t *y)
{
    g_return_if_fail (d != NULL && n >= 0 && (n == 0 || indices != NULL));
    gsize numel = (gsize) dn_shape_numel (&d->shape);
    int C = norm != NULL ? norm->n_channels : 1;
    g_return_if_fail (C >= 1 && C <= 16 && numel % (gsize) C == 0);
    BatchJob j = {.d = d, .indices = indices, .n = n, .channels = C, .numel = numel, .x = x};
    j.inner = numel / (gsize) C;
    float in_scale = d->u8 != NULL ? 1.0f / 255.0f : 1.0f;

    /* (x * in_scale - mean) / std as one multiply-add per element. */
    for (int c = 0; c < C; c++) {
        float mean = norm != NULL ? norm->mean[c] : 0.0f;
        float std = norm != NULL ? norm->std[c] : 1.0f;
        j.scale[c] = in_scale / std;
        j.bias[c] = -mean / std;
    }
    if (x != NULL && (d->u8 != NULL || d->f32 != NULL) && n > 0) {
        int tasks = MIN (n, dn_parallel_tasks ((size_t) n * numel, BATCH_MIN_PER_TASK));
        dn_parallel_run (tasks, batch_task, &j);
    }
    if (y != NULL) {
        for (int i = 0; i < n; i++) {
            int k = indices[i];
            g_assert (k >= 0 && k < d->n);
            y[i] = d->labels[k];
        }
    }
}
