/* dn-config-reader.h: the typed fields of one JSON object of a configuration (a
 * section of an experiment, an optimizer, a scheduler, the tracker's settings, a
 * layer's settings), read with messages that name the place, the field and what
 * the field must be.
 *
 * A reader holds the object, the names its messages use and the GError it fails
 * into. Each call reads one field and returns FALSE once it has set the error; an
 * absent field leaves *out as it is (the caller's default), so calls chain:
 *
 *     g_auto (DnFieldReader) r =
 *         dn_fields_reader (obj, "exp.json", "training", DN_FIELDS_NULL_IS_ABSENT, error);
 *     if (!dn_fields_check_keys (&r, known) ||
 *         !dn_fields_int (&r, "epochs", 1, 1000000, &epochs) || ...)
 *         return FALSE;
 *
 * Messages take one of two forms. A reader with a `what` (a file, a layer) writes
 *     exp.json: "training"."epochs" is 1.5; it must be a whole number between 1 and 1000000
 *     exp.json: unknown field "lr" in "training"; known fields are "optimizer", ...
 * and one without starts with its section, for callers that put the place in
 * front themselves (the optimizer, the scheduler, the tracker's "dendrites"):
 *     optimizer "lr" must be a number >= 0, got -1
 *     optimizer field "learning_rate" is unknown; "sgd" reads "type", "lr", ...
 *
 * Values: a whole number may be written 5 or 5.0; a number is finite; a string is
 * never a number and a number never a string. Names of choices (dn_fields_enum)
 * match in any case.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
    DN_FIELDS_NULL_IS_ABSENT = 1 << 0, /* a field set to null takes its default */
} DnFieldsFlags;

/* The numbers a field allows: from min to max, an end left out where its _open flag
 * is set; an infinite end is no bound. whole: whole numbers only. */
typedef struct {
    double min, max;
    gboolean min_open, max_open;
    gboolean whole;
} DnRange;

typedef struct {
    JsonObject *obj;     /* NULL: every field is absent */
    const char *what;    /* the file or the thing; NULL: the messages' second form */
    const char *section; /* the object's name inside `what`; may be NULL */
    DnFieldsFlags flags;
    const char *const *ignored;  /* members other code reads: allowed, not listed */
    const char *const *required; /* fields whose absence is an error */
    GError **error;
    char *owned; /* freed by dn_fields_clear (a `what` made for the reader) */
} DnFieldReader;

/* Strings are borrowed and must outlive the reader. */
DnFieldReader dn_fields_reader (JsonObject *obj, const char *what, const char *section,
                                DnFieldsFlags flags, GError **error);
void dn_fields_clear (DnFieldReader *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DnFieldReader, dn_fields_clear)

/* Every member is in the NULL-terminated `known` (or in r->ignored). An unknown one
 * is an error that suggests the nearest known name, or else lists them all. */
gboolean dn_fields_check_keys (DnFieldReader *r, const char *const *known);
/* The same for an object whose fields depend on its kind (an optimizer's "type"):
 * kind_fields[k] lists the fields of kinds[k]; `kind_key` is always allowed. A field
 * of another kind "does not apply", naming the kinds it belongs to. */
gboolean dn_fields_check_kind_keys (DnFieldReader *r, const char *kind_key,
                                    const char *const *kinds, const char *const *const *kind_fields,
                                    int kind);

/* A member that is an object, as a reader with the same place whose section is
 * `key` (child->obj is NULL when absent). null is not an object, even with
 * DN_FIELDS_NULL_IS_ABSENT: a section is left out, not nulled. */
gboolean dn_fields_object (DnFieldReader *r, const char *key, DnFieldReader *child);
/* The member itself, for a field of a type of its own; NULL when absent (or null
 * with DN_FIELDS_NULL_IS_ABSENT). */
JsonNode *dn_fields_member (DnFieldReader *r, const char *key);
/* Fails with the reader's message for the member's value: "... is 7; it must be `rule`". */
gboolean dn_fields_fail (DnFieldReader *r, const char *key, const char *rule);

gboolean dn_fields_bool (DnFieldReader *r, const char *key, gboolean *out);
/* Whole numbers from min to max. */
gboolean dn_fields_int (DnFieldReader *r, const char *key, int min, int max, int *out);
gboolean dn_fields_int64 (DnFieldReader *r, const char *key, gint64 min, gint64 max, gint64 *out);
/* Numbers from min to max, ends included. */
gboolean dn_fields_number (DnFieldReader *r, const char *key, double min, double max, double *out);
gboolean dn_fields_number_in (DnFieldReader *r, const char *key, const DnRange *range, double *out);
/* Replaces *out (g_free) with a copy. */
gboolean dn_fields_string (DnFieldReader *r, const char *key, char **out);
/* A string among the NULL-terminated `names` (or the same entry of `aliases`, which
 * may be NULL and hold NULLs); *out is its index. */
gboolean dn_fields_enum (DnFieldReader *r, const char *key, const char *const *names,
                         const char *const *aliases, int *out);

/* Arrays of min_len to max_len values (max_len G_MAXINT: no limit), each in the
 * range; out has room for them all and *n is their count. bare: a single value
 * counts as an array of one. All or nothing: on an error out is left as it was. */
gboolean dn_fields_number_list (DnFieldReader *r, const char *key, const DnRange *each, int min_len,
                                int max_len, gboolean bare, double *out, int *n);
gboolean dn_fields_int_list (DnFieldReader *r, const char *key, int min, int max, int min_len,
                             int max_len, gboolean bare, int *out, int *n);
/* An array of strings; replaces *out (g_strfreev) with a NULL-terminated copy. */
gboolean dn_fields_string_list (DnFieldReader *r, const char *key, char ***out);

/* "a number in [0, 1)", "a whole number >= 1": the rule the messages give. Free with g_free. */
char *dn_range_describe (const DnRange *range);
gboolean dn_range_contains (const DnRange *range, double v);

G_END_DECLS
