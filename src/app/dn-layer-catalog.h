/* dn-layer-catalog.h: the layer kinds the network editor offers, with their settings.
 *
 * The engine's layers (docs/layers.md) read settings from JSON with PyTorch's
 * names and defaults; the editor needs to know, for each kind, which
 * settings to show, of which type and range, and what a new layer starts
 * with. Plain data, no GObject: the palette, the settings rows and the
 * tests read it.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
    DN_SETTING_INT,      /* a whole number */
    DN_SETTING_INT_PAIR, /* a whole number or [a, b] (kernel_size, stride, ...) */
    DN_SETTING_DOUBLE,
    DN_SETTING_BOOL,
    DN_SETTING_CHOICE, /* one of the strings in `choices` ("abs_max", "max", ...) */
} DnSettingType;

typedef struct {
    const char *key;   /* the JSON member: "out_channels" */
    const char *title; /* translatable (N_), for the settings row */
    DnSettingType type;
    double min, max;
    double def;        /* PyTorch's default, shown when the member is absent */
    gboolean optional; /* absent means "inferred from the input" (in_features) */
    int digits;        /* DOUBLE: decimals shown */
    /* CHOICE: the JSON strings, NULL-terminated, the default first, and what people read
     * (translatable, N_), in the same order */
    const char *const *choices;
    const char *const *choice_titles;
} DnSettingSpec;

typedef struct {
    const char *type;  /* "conv2d" */
    const char *title; /* "Conv2d", for the palette and the kind column */
    const char *summary;
    gboolean neuron_module; /* can get dendrites (linear, conv1d, conv2d) */
    int min_inputs;         /* 2 for add and concat */
    const DnSettingSpec *settings;
    int n_settings;
    /* the settings a new layer starts with, as JSON members: "{\"out_channels\": 32}" */
    const char *initial;
} DnLayerKind;

/* Every kind the editor offers, in palette order. */
const DnLayerKind *dn_layer_catalog (int *n);
/* NULL for a type the editor does not know (it is still shown, read-only). */
const DnLayerKind *dn_layer_catalog_lookup (const char *type);

G_END_DECLS
