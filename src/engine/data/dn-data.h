/* dn-data.h: datasets in memory, their readers, splits and mini-batches.
 *
 * Image data (IDX) stays uint8 in memory and is normalised per batch when it
 * is copied into a float batch, so a 60,000-image set costs 47 MB, not 188.
 * Tabular data (CSV) is float32. Labels are int32 class indices 0..n_classes-1.
 * A sample's shape is (c, h, w) for images and (features) for tables.
 *
 * A subset or split is a view: it shares its parent's pixels or features and
 * holds only its labels and `rows`, the parent row of each of its samples, so
 * sample i's data starts at row dn_dataset_row (d, i) of u8 / f32. The view
 * keeps the storage alive; free views and parents in any order.
 *
 * The class list is part of a model: the training file fixes it (label_kind,
 * n_classes, class_names), and every other file is read through it
 * (DnCsvOptions.classes), so the same label always gets the same number.
 */
#pragma once

#include "dn-rng.h"
#include "dn-tensor.h"

G_BEGIN_DECLS

/* How a file's labels became class numbers. */
typedef enum {
    DN_LABELS_INDEX, /* the labels are the class numbers 0..n_classes-1, perhaps named */
    DN_LABELS_VALUE, /* numbers: class k is the k-th smallest value, written in class_names[k] */
    DN_LABELS_NAME,  /* text: class k is class_names[k] */
} DnLabelKind;

typedef struct _DnDataset DnDataset;

struct _DnDataset {
    int n;           /* samples */
    DnShape shape;   /* per sample: (1, 28, 28) or (n_features) */
    guint8 *u8;      /* rows of numel(shape) pixels, or NULL */
    float *f32;      /* rows of numel(shape) features, or NULL */
    int32_t *labels; /* n, one per sample (not per row) */
    int n_classes;
    DnLabelKind label_kind;
    char **class_names; /* NULL-terminated, or NULL */
    char *source;       /* where it came from, for messages */
    int *rows;          /* n parent rows (a view), or NULL: sample i is row i */
    DnDataset *base;    /* the dataset that owns u8 / f32 (a view), or NULL */
    int extra_refs;     /* views that share this dataset's storage */
};

/* A class list on its own: what a model stores and what other files are read through. */
typedef struct {
    DnLabelKind kind;
    int n_classes;
    char **names; /* NULL-terminated, n_classes entries; may be NULL for DN_LABELS_INDEX */
} DnClassList;

/* The row of u8 / f32 that holds sample i. */
static inline gsize dn_dataset_row (const DnDataset *d, int i)
{
    return d->rows != NULL ? (gsize) d->rows[i] : (gsize) i;
}

/* Per-channel normalisation x' = (x / scale - mean[c]) / std[c]; scale is 255
 * for uint8 images and 1 for float features. n_channels 1 applies to all. */
typedef struct {
    int n_channels;
    float mean[16];
    float std[16];
} DnNormalize;

/* One IDX image file (magic 0x0803, .gz or raw) and its label file (0x0801). */
DnDataset *dn_dataset_load_idx (const char *images_path, const char *labels_path, GError **error);
/* A folder in the MNIST layout: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
 * split is "train" or "test". */
DnDataset *dn_dataset_load_idx_dir (const char *dir, const char *split, GError **error);

typedef struct {
    /* Label column: by name (label_name) or index (label_index; -1 = last). */
    const char *label_name;
    int label_index;
    /* -1: detect a header (first row has a non-numeric field); 0 no; 1 yes. */
    int header;
    char delimiter; /* 0: detect ',' ';' '\t' */
    /* The training data's classes: labels are mapped through them and a label
     * outside them is an error naming its line. NULL: this file numbers its own. */
    const DnClassList *classes;
    guint64 max_bytes; /* the largest file read; 0: DN_CSV_MAX_BYTES */
} DnCsvOptions;

/* The largest CSV file read, in bytes: larger files (or endless ones such as
 * /dev/zero) are refused before their memory is taken. */
#define DN_CSV_MAX_BYTES (G_GUINT64_CONSTANT (1) << 30)

void dn_csv_options_init (DnCsvOptions *opts);
/* Numeric features; the label column may hold numbers or names. Without
 * opts->classes, names are numbered in order of first appearance and kept in
 * class_names; with it, every label is looked up in that list. */
DnDataset *dn_dataset_load_csv (const char *path, const DnCsvOptions *opts, GError **error);

void dn_dataset_free (DnDataset *d);
/* A view of the samples at `indices` of d (their labels copied, their data shared). */
DnDataset *dn_dataset_subset (DnDataset *d, const int *indices, int n, GError **error);
/* A seeded split into two views: a shuffled `val_fraction` of the samples goes to *val. */
gboolean dn_dataset_split (DnDataset *d, double val_fraction, DnRng *rng, DnDataset **train,
                           DnDataset **val, GError **error);
/* The classes of d, borrowed (valid while d is). */
void dn_dataset_classes (const DnDataset *d, DnClassList *out);
/* {"labels": "index"|"value"|"name", "count": K, "names": [...] or null, and
 * "column": label_column when not NULL}: the model metadata `dendrite_classes`. */
char *dn_class_list_to_json (const DnClassList *c, const char *label_column);
/* Reads that text back into *out (names owned: free with dn_class_list_clear);
 * *label_column (may be NULL) gets the stored column or NULL. */
gboolean dn_class_list_from_json (const char *text, DnClassList *out, char **label_column,
                                  GError **error);
void dn_class_list_clear (DnClassList *c);
/* g_try_malloc of n items of `size` bytes, or NULL with "out of memory: <what> of
 * '<source>' needs N MB". Never aborts, whatever n the input asked for. */
gpointer dn_data_try_alloc (gsize n, gsize size, const char *what, const char *source,
                            GError **error);
/* Mean and std per channel (images: over pixels / 255; tables: per feature
 * channel 0 only, i.e. one global mean/std). */
void dn_dataset_compute_normalize (const DnDataset *d, DnNormalize *norm);
/* Copies samples indices[0..n) into x (n, ...shape) normalised, and their labels
 * into y (may be NULL). */
void dn_dataset_get_batch (const DnDataset *d, const int *indices, int n, const DnNormalize *norm,
                           float *x, int32_t *y);

/* The same readers on bytes already in memory (fuzz targets, embedders); the
 * names stand for the files in messages and become `source`. IDX bytes may be
 * gzip-compressed, detected by content. */
DnDataset *dn_dataset_parse_idx (const guint8 *images, gsize images_len, const char *images_name,
                                 const guint8 *labels, gsize labels_len, const char *labels_name,
                                 GError **error);
DnDataset *dn_dataset_parse_csv (const char *text, gsize len, const char *name,
                                 const DnCsvOptions *opts, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnDataset, dn_dataset_free)

G_END_DECLS
