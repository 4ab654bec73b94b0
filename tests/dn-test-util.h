/* dn-test-util.h: what every test shares: paths to fixtures and data,
 * temporary folders, and float comparisons with a useful failure message. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "dn-experiment.h"

/* DN_TEST_ASAN: built with AddressSanitizer. Its shadow memory takes terabytes
 * of address space, so a test that sets a small RLIMIT_AS skips itself. */
#if defined(__SANITIZE_ADDRESS__)
#define DN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DN_TEST_ASAN 1
#endif
#endif

G_BEGIN_DECLS

/* tests/fixtures/<name>; free with g_free. */
char *dn_test_fixture_path (const char *name);
/* data/<rel> in the source tree; free with g_free. */
char *dn_test_data_path (const char *rel);
/* A fresh temporary folder, removed (recursively) by dn_test_tmpdir_remove. */
char *dn_test_tmpdir (void);
void dn_test_tmpdir_remove (const char *dir);
/* Runs the default main context until done (data) holds or seconds have passed. */
void dn_test_spin_until (gboolean (*done) (gpointer), gpointer data, double seconds);
/* Runs the default main context for that long (a window paints, idles run). */
void dn_test_pump (double seconds);
/* Parses a JSON fixture; fails the test if it cannot. */
JsonNode *dn_test_load_json (const char *fixture_name);
/* The object that JSON text holds; fails the test on anything else. Unref when done. */
JsonObject *dn_test_json_object (const char *text);
/* Reads a JSON array of numbers into a new float array; *n gets its length. */
float *dn_test_json_floats (JsonArray *a, gsize *n);
/* Writes bytes to a file in dir; returns the path. */
/* dir/<prefix>-{images-idx3,labels-idx1}-ubyte, raw IDX: n images of side x side
 * pixels from `base` upwards (base + (7 i + 3 k) mod 40, at most 255), labels
 * alternating 0 and 1. */
void dn_test_write_idx (const char *dir, const char *prefix, int n, int side, int base);
char *dn_test_write_file (const char *dir, const char *name, const void *data, gsize len);
/* A small run to read back: tmp/sep.csv (300 rows of two features, two classes told
 * apart by the first) and the text of an experiment named `name` training a 2-width-2
 * MLP on it for `epochs` epochs (Adam, seed 3) into the folder out. g_free. */
char *dn_test_small_experiment (const char *tmp, const char *name, const char *out, int width,
                                int epochs);
/* Rewrites a checkpoint with `find` replaced by `with` in its metadata entry `key`
 * (`find` NULL: the entry removed); fails the test when `find` is not there. */
void dn_test_edit_metadata (const char *path, const char *key, const char *find,
                            const char *with);

/* Fails with the index, both values and the tolerance when
 * |a - b| > atol + rtol * |b| anywhere. */
#define dn_assert_floats_close(a, b, n, rtol, atol)                                                \
    dn_test_assert_floats_close (__FILE__, __LINE__, #a, (a), (b), (n), (rtol), (atol))
void dn_test_assert_floats_close (const char *file, int line, const char *what, const float *a,
                                  const float *b, gsize n, double rtol, double atol);

/* Fails unless two safetensors files hold the same tensors, bit for bit, and the same
 * "dendrite_network" metadata. */
void dn_test_assert_same_tensors (const char *a_path, const char *b_path);

/* The "network" member of data/examples/<name>.json (a copy; free it). */
JsonNode *dn_test_example_network (const char *name);

/* JSON text parsed (a copy; free it). */
JsonNode *dn_test_parse_json (const char *json);
/* data/examples/<name>.json loaded as an experiment on the bundled MNIST sample with
 * half of it for validation and `epochs` epochs (free with dn_experiment_free). */
DnExperiment *dn_test_example_experiment (const char *name, int epochs);

G_END_DECLS
