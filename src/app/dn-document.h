/* dn-document.h: the experiment being edited in a window.
 *
 * Owns one DnExperiment (the engine's struct, saved with
 * dn_experiment_save, so the GUI writes exactly the file the CLI runs) and
 * the file it came from. Pages edit the experiment in place and then call
 * dn_document_changed() with what they touched; everyone interested
 * listens to "changed". The network analysis (shapes, counts, errors) is
 * kept up to date here so every page shows the same numbers.
 *
 * Main thread only. A run gets its own copy (dn_document_copy_experiment).
 */
#pragma once

#include "dn-experiment.h"
#include "dn-network-info.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
    DN_CHANGE_NAME = 1 << 0,
    DN_CHANGE_NETWORK = 1 << 1,
    DN_CHANGE_DENDRITES = 1 << 2, /* the dendrites section, or whether there is one */
    DN_CHANGE_DATA = 1 << 3,
    DN_CHANGE_TRAINING = 1 << 4,
    DN_CHANGE_FILE = 1 << 5, /* saved, or saved under another name: not a modification */
    DN_CHANGE_ALL = 0x3f,
} DnChange;

#define DN_TYPE_DOCUMENT (dn_document_get_type ())
G_DECLARE_FINAL_TYPE (DnDocument, dn_document, DN, DOCUMENT, GObject)

/* Takes exp. file may be NULL (a new experiment from a template). */
DnDocument *dn_document_new (DnExperiment *exp, GFile *file);
/* An experiment (.json) or a model written by the engine (.safetensors: its network,
 * normalisation and name become a new, unsaved experiment whose runs start from the
 * model's weights, dn_document_get_model). */
DnDocument *dn_document_new_from_file (GFile *file, GError **error);
/* Builds an experiment around the network stored in a model file, named after the
 * file. The model is checked as `dendrite eval` checks it (dn_model_load: network,
 * metadata, finite weights) and fails with the same error; the file's name must
 * do as a run folder's name (dn_check_name). */
DnExperiment *dn_experiment_from_model (const char *path, GError **error);

DnExperiment *dn_document_get_experiment (DnDocument *doc);
/* The model file the document was opened from (its runs start from its weights:
 * DnRunOptions.init_model), or NULL. */
const char *dn_document_get_model (DnDocument *doc);
/* A deep copy for another thread. */
DnExperiment *dn_document_copy_experiment (DnDocument *doc);
GFile *dn_document_get_file (DnDocument *doc);
gboolean dn_document_get_modified (DnDocument *doc);
const DnNetworkInfo *dn_document_get_network_info (DnDocument *doc);

void dn_document_changed (DnDocument *doc, DnChange what);
gboolean dn_document_save (DnDocument *doc, GFile *file, GError **error);

/* ---- network edits; each emits "changed" with DN_CHANGE_NETWORK ---- */

JsonArray *dn_document_get_layers (DnDocument *doc);
guint dn_document_n_layers (DnDocument *doc);
JsonObject *dn_document_get_layer (DnDocument *doc, guint i);
/* Inserts a layer of `type` with the catalog's initial settings and a fresh
 * name; position -1 appends. Returns its index. */
guint dn_document_insert_layer (DnDocument *doc, int position, const char *type);
void dn_document_remove_layer (DnDocument *doc, guint i);
void dn_document_move_layer (DnDocument *doc, guint from, guint to);
/* FALSE + error when the name is empty, has a dot, is "input" or is taken. */
gboolean dn_document_rename_layer (DnDocument *doc, guint i, const char *name, GError **error);
/* value NULL removes the member (the default applies); takes value. */
void dn_document_set_layer_setting (DnDocument *doc, guint i, const char *key, JsonNode *value);
void dn_document_set_layer_dendrites (DnDocument *doc, guint i, DnLayerDendrites choice);
/* Replaces the whole network description (takes network). */
void dn_document_set_network (DnDocument *doc, JsonNode *network);

G_END_DECLS
