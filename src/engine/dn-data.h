/* dn-data.h: datasets in memory, their readers, splits and mini-batches.
 *
 * Image data (IDX) stays uint8 in memory and is normalised per batch when it
 * is copied into a float batch, so a 60,000-image set costs 47 MB, not 188.
 * Tabular data (CSV) is float32. Labels are int32 class indices 0..n_classes-1.
 * A sample's shape is (c, h, w) for images and (features) for tables.
 */
#pragma once

#include "dn-rng.h"
#include "dn-tensor.h"

G_BEGIN_DECLS

typedef struct {
    int n;           /* samples */
    DnShape shape;   /* per sample: (1, 28, 28) or (n_features) */
    guint8 *u8;      /* n * numel(shape) pixels, or NULL */
    float *f32;      /* n * numel(shape) features, or NULL */
    int32_t *labels; /* n */
    int n_classes;
    char **class_names; /* NULL-terminated, or NULL */
    char *source;       /* where it came from, for messages */
} DnDataset;

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
} DnCsvOptions;

void dn_csv_options_init (DnCsvOptions *opts);
/* Numeric features; the label column may hold numbers or names (names are mapped
 * to indices in order of first appearance and kept in class_names). */
DnDataset *dn_dataset_load_csv (const char *path, const DnCsvOptions *opts, GError **error);

void dn_dataset_free (DnDataset *d);
/* A new dataset holding the samples at `indices` (copied). */
DnDataset *dn_dataset_subset (const DnDataset *d, const int *indices, int n);
/* A seeded split: a shuffled `val_fraction` of the samples goes to *val. */
void dn_dataset_split (const DnDataset *d, double val_fraction, DnRng *rng, DnDataset **train,
                       DnDataset **val);
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
