/* dn-selection-editor.h: which kinds of layers get dendrites, and neuron modules.
 *
 * The part of the experiment's "dendrites" section that chooses layers by
 * kind and by group (docs/dendrites.md): a check per kind of layer that can
 * get dendrites ("perforate_types"; kinds the editor does not know stay in
 * the list untouched), the neuron modules ("groups": a linear or convolution
 * layer with the layers right after it, each reading the one before, such as
 * conv1 + bn1, so every dendrite copies the whole module), and a row that
 * adds one: the first layer, how many layers, Add. A new module is checked
 * with the engine's own rules (dn_dendrite_wrap_network) before it is
 * written; a refusal says why on the row. Per-layer choices live on the
 * Network page.
 */
#pragma once

#include "dn-document.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_SELECTION_EDITOR (dn_selection_editor_get_type ())
G_DECLARE_FINAL_TYPE (DnSelectionEditor, dn_selection_editor, DN, SELECTION_EDITOR,
                      AdwPreferencesGroup)

GtkWidget *dn_selection_editor_new (void);
void dn_selection_editor_set_document (DnSelectionEditor *self, DnDocument *doc);
/* The editors, by name (tests): "perforate_types:TYPE" (a GtkCheckButton),
 * "groups:first" (a GtkDropDown of GtkStringObject layer names),
 * "groups:size" (a GtkSpinButton), "groups:add" (a GtkButton),
 * "groups:remove:N" (the GtkButton that removes the Nth module), and
 * "groups:message" (the AdwActionRow that says why a module was refused).
 * NULL for another name. */
GtkWidget *dn_selection_editor_get_editor (DnSelectionEditor *self, const char *key);

G_END_DECLS
