/* dn-dendrites-page.h: every setting of the experiment's "dendrites" section.
 *
 * Grouped as Perforated AI documents them (switching, improvement
 * thresholds, dendrite shape and initialisation, limits and retries, the
 * learning-rate sweep, files), each with a one-line explanation and its
 * default, and which layers get dendrites (DnSelectionEditor: the kinds of
 * layer and the neuron modules). The rows are made from one table
 * (dn-dendrites-page.c) that maps each to its field of DnTrackerConfig or
 * DnDendriteSelection, so what is shown is what dn_experiment_save writes. "Test dendrite
 * capacity" runs the quick three-set dry run in a scratch folder and
 * reports what it measured.
 */
#pragma once

#include "dn-document.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_DENDRITES_PAGE (dn_dendrites_page_get_type ())
G_DECLARE_FINAL_TYPE (DnDendritesPage, dn_dendrites_page, DN, DENDRITES_PAGE, AdwBin)

void dn_dendrites_page_set_document (DnDendritesPage *self, DnDocument *doc);
/* The editor of a setting by its JSON name (tests): a GtkSpinButton, GtkSwitch,
 * AdwComboRow, or for a list (patience, thresholds, limits: one value per
 * dendrite count) a GtkEntry that takes "10" or "0.001, 0.0001" and marks
 * anything else with the error style and a tooltip that says why. The layer
 * selection's editors go by dn_selection_editor_get_editor's names
 * ("perforate_types:linear", "groups:add", ...); "advanced" is the Advanced
 * Settings switch. NULL for an unknown key. */
GtkWidget *dn_dendrites_page_get_editor (DnDendritesPage *self, const char *key);

G_END_DECLS
