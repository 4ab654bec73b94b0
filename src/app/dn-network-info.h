/* dn-network-info.h: what the network editor shows about each layer.
 *
 * Built by really building the network with the engine
 * (dn_network_new_from_json), so shapes, settings and parameter counts are
 * the engine's own. When the network does not build, the layer that breaks
 * it is found by building ever shorter prefixes (a layer's validity depends
 * only on the layers before it): that layer carries the engine's message,
 * the layers before it their shapes, the ones after it nothing.
 *
 * Which layers get dendrites follows the experiment's dendrite selection
 * with the same rules as dn_dendrite_wrap_network().
 */
#pragma once

#include "dn-dendrite.h"

G_BEGIN_DECLS

typedef enum {
    DN_LAYER_DENDRITES_NONE,      /* left alone */
    DN_LAYER_DENDRITES_TRACK,     /* tracked only */
    DN_LAYER_DENDRITES_PERFORATE, /* gets dendrites */
} DnLayerDendrites;

typedef struct {
    char *name;
    char *type;
    char *settings; /* the engine's description: "1→32, 3×3, stride 1"; "" when unknown */
    char *output;   /* "32×26×26"; NULL when the layer could not be built */
    int64_t params;
    char *error;                /* the engine's message for the layer that breaks; else NULL */
    gboolean neuron_module;     /* can get dendrites */
    DnLayerDendrites dendrites; /* effective choice */
} DnLayerInfo;

typedef struct {
    GPtrArray *layers; /* DnLayerInfo*, one per layer of the description */
    char *input;       /* "1×28×28" */
    gboolean ok;
    char *error;     /* the first error, for a network-level problem (error_layer -1) too */
    int error_layer; /* index of the layer that breaks; -1 when none or network-level */
    int64_t total_params;
    int64_t output_numel;
    int n_dendritic;     /* layers that get dendrites */
    GPtrArray *warnings; /* plain-language warnings from wrapping (char*) */
} DnNetworkInfo;

/* network: the experiment's "network" node; sel may be NULL (no dendrites). */
DnNetworkInfo *dn_network_info_new (JsonNode *network, const DnDendriteSelection *sel);
void dn_network_info_free (DnNetworkInfo *info);

/* The choice for one layer under a selection (engine rules). */
DnLayerDendrites dn_layer_dendrites_get (const DnDendriteSelection *sel, const char *name,
                                         const char *type);
/* Edits the selection's name lists so the layer gets `choice`. */
void dn_layer_dendrites_set (DnDendriteSelection *sel, const char *name, const char *type,
                             DnLayerDendrites choice);
/* Renames a layer in every list of the selection (and its groups). */
void dn_dendrite_selection_rename (DnDendriteSelection *sel, const char *from, const char *to);
/* Drops a layer name from every list (it was removed). */
void dn_dendrite_selection_forget (DnDendriteSelection *sel, const char *name);

/* "1,199,882" with the locale's grouping. g_free. */
char *dn_format_count (int64_t n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DnNetworkInfo, dn_network_info_free)

G_END_DECLS
