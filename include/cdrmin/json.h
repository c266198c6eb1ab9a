/*
 * cdrmin: JSON lines decoder (RFC 8259), paths, and protected subtrees.
 *
 * A JSON lines record is one object on one line. The rules name the
 * values they want by path; those paths are the record's schema, so the
 * decoder extracts exactly the named values and validates the rest
 * without keeping it (deny by default: what no rule names is dropped).
 *
 * Path syntax (the README's "JSON paths"):
 *   variables.sip_from_user                 member of a member
 *   callflow[0].caller_profile.caller_id_number
 *                                           element 0 of an array
 *   variables['sip.from']                   a key holding '.', '[', ']',
 *                                           ''' or '\' (escape those two
 *                                           with '\' inside the quotes)
 * A plain key is one or more bytes other than '.', '[', ']', '\'', '\\'
 * and blanks (space, tab, LF, CR, VT, FF); a quoted key is any bytes, ''
 * (the empty key) too. Indexes are decimal without leading zeros, at most
 * CM_JSON_INDEX_MAX. A path starts with a key (the record is an object) and
 * has at most CM_JSON_DEPTH_MAX steps (a value deeper than that cannot be
 * in an accepted line). A path names a value of any type: a string, number,
 * boolean, null, or a whole object or array (a subtree). A path's key
 * matches a member whose key, escapes decoded, is the same bytes
 * ("sip\u005ffrom" is sip_from); an index matches only an array element, a
 * key only an object member ("a['0']" is not "a[0]").
 *
 * The decoder is a validating scanner of our own: zero copy (a value is a
 * slice of the line, decoded into a scratch buffer only when it holds
 * escapes), no allocation per record, numbers kept as written (exact round
 * trip, no conversion to double), nesting bounded by CM_JSON_DEPTH_MAX.
 */
#ifndef CDRMIN_JSON_H
#define CDRMIN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/record.h"

#define CM_JSON_DEPTH_MAX 64
#define CM_JSON_INDEX_MAX 65535

/*
 * Checks the syntax of a path. Returns 0, or -1 with *at set to the 0-based
 * byte of path where it goes wrong (strlen(path) when it ends too early;
 * the first digit of a bad index; the first byte of the step past
 * CM_JSON_DEPTH_MAX) and *why to a short static reason ("empty key",
 * "unterminated quote", "index too large", ...).
 */
int cm_json_path_check(const char *path, size_t *at, const char **why);

/*
 * 1 when the value path a names contains the value path b names (b is a or
 * lies inside it: "variables" contains "variables.sip_from_user" and
 * "variables['x']"; "callflow[0]" contains "callflow[0].times"). Both paths
 * must be valid. Compares the paths' meaning, not their spelling
 * ("a['b']" is "a.b"). 0 when either is not valid.
 */
int cm_json_path_contains(const char *a, const char *b);

/* What went wrong in a line that is rejected. */
/*
 * at, for reason json: the first byte at which the line stops being the
 * start of a valid line, so line[0..at) is a prefix of some well-formed
 * line; n when the line ends too early. So a bad escape is found at the
 * byte after the backslash, bad UTF-8 at the first byte that cannot
 * continue its sequence, a number "01" at the "1", bytes after the object
 * at the first of them. Nesting too deep is found at the '{' or '[' that
 * opens the level past CM_JSON_DEPTH_MAX. For reason duplicate: the
 * opening quote of the key met the second time; field is the lowest schema
 * index at or under that key's path.
 */
struct cm_json_fault {
	enum cm_reject reason; /* CM_REJ_JSON or CM_REJ_DUPLICATE */
	size_t at;             /* byte of the line where it was found, 0-based */
	long field;            /* for CM_REJ_DUPLICATE: the schema index, else -1 */
};

struct cm_jsonl;

/*
 * A decoder for the paths of schema (each name must pass
 * cm_json_path_check). The schema is not referenced after the call. Two
 * names that spell the same path ("a.b", "a['b']") both get its value.
 * Returns NULL with err set (CM_E_RULES for a bad path, naming it;
 * CM_E_NOMEM).
 */
struct cm_jsonl *cm_jsonl_new(const struct cm_schema *schema, struct cm_err *err);
void cm_jsonl_free(struct cm_jsonl *d);

/*
 * Decodes one line line[0..n) (no LF; a CR before it already removed),
 * which must be one JSON object with optional blanks (space, tab, CR; LF
 * too, as RFC 8259 says) around it. On success returns 1 and fills rec
 * (n = schema size; f, type and raw arrays owned by the decoder, valid
 * until the next call; values are slices of line or of the decoder's
 * scratch), line and offset of rec untouched. Per field: a string is
 * CM_VT_STR, f its decoded bytes, raw its text with quotes; a number
 * CM_VT_NUM, f and raw its text as written; true and false CM_VT_BOOL, f
 * and raw the word; null CM_VT_NULL, f empty, raw "null"; an object or an
 * array CM_VT_TREE, f and raw its text from its bracket to its closing
 * bracket. A path the object does not hold is CM_VT_ABSENT with f and raw
 * empty; a path that goes through a value of the wrong type (a key into an
 * array, an index into a string) too. A path named and with named paths
 * under it gets its value and theirs. Returns 0 and fills *fault for a
 * line that is not one well-formed object (reason json: bad syntax,
 * invalid UTF-8, a control character in a string, nesting deeper than
 * CM_JSON_DEPTH_MAX, bytes after the object, a top-level value that is not
 * an object), or a named path met twice (reason duplicate: {"a":1,"a":2}
 * when a rule names a, or a path under it; {"v":{},"v":{}} when a rule
 * names v.x; keys compared decoded). Members no path reaches are checked,
 * not kept: their duplicates do not matter. The first fault in the line's
 * order is the one reported. Returns CM_FAIL when memory is short. rec is
 * left alone unless 1 is returned.
 *
 * Depth: the line's object is level 1, an object or array directly in it
 * level 2, and so on. CM_JSON_DEPTH_MAX levels are accepted (so a named
 * value at most CM_JSON_DEPTH_MAX steps down), one more is reason json.
 *
 * A string's decoded value is UTF-8: escapes are decoded, a surrogate
 * pair becomes its code point, a lone surrogate escape becomes U+FFFD
 * (the raw text keeps the escape). Raw bytes of a string must be valid
 * UTF-8 (RFC 8259 section 8.1).
 */
int cm_jsonl_decode(struct cm_jsonl *d, const char *line, size_t n, struct cm_record *rec,
		    struct cm_json_fault *fault);

/*
 * The decoder's fast pass (AVX-512 VBMI2, where the CPU has it and
 * CDRMIN_NO_AVX512 is not set): a line that is one flat object of plain
 * strings, numbers and literals, with no escape and nothing but printable
 * ASCII in its strings, is decoded from a list of its quotes; any other
 * line goes to the general path, which gives the same result for every
 * line. CM_JSONL_FAST_AUTO (the default) tries each line unless lines it
 * handed on came in a row (it then rests for 1, 2, 4, ... up to 4096
 * lines); CM_JSONL_FAST_ALWAYS tries every line and CM_JSONL_FAST_OFF none:
 * for tests and comparisons of the two paths.
 */
enum cm_jsonl_fast { CM_JSONL_FAST_OFF, CM_JSONL_FAST_AUTO, CM_JSONL_FAST_ALWAYS };
void cm_jsonl_set_fast(struct cm_jsonl *d, enum cm_jsonl_fast mode);

/*
 * Rewrites the JSON value text[0..n) (an object or array as the decoder
 * gave it, already validated) to out with the same structure: every string
 * value and every number is replaced by leaf(ud, bytes, len, out), which
 * appends the new value's bytes (decoded text, not JSON: the rewriter
 * writes it as a JSON string, as cm_json_put_string does, so a number
 * becomes a string and bytes that are not UTF-8 become U+FFFD); true,
 * false and null stay. Object keys are replaced by key(ud, bytes, len, out)
 * the same way, or kept as written (quotes and escapes) when key is NULL;
 * leaf NULL keeps strings and numbers as written. Blanks between tokens
 * are not kept. leaf and key get decoded bytes (escapes resolved; for a
 * number its text), which they must not keep past the call. A callback
 * returns 0, or non-zero to stop: the rewrite then returns that value (out
 * holds a partial result the caller discards). Returns 0, that value, or
 * -1 when text is not one object or array with optional blanks around it,
 * valid as cm_jsonl_decode checks it (depth counted from text's own
 * bracket). When memory is short it stops and sets out->oom: check it as
 * after any append. text must not lie in out.
 */
typedef int (*cm_json_leaf_fn)(void *ud, const char *s, size_t n, struct cm_buf *out);
int cm_json_map_tree(const char *text, size_t n, cm_json_leaf_fn leaf, cm_json_leaf_fn key,
		     void *ud, struct cm_buf *out);

/*
 * Appends s[0..n) as a JSON string, quotes included (RFC 8259 section 7),
 * invalid UTF-8 replaced by U+FFFD.
 */
void cm_json_put_string(struct cm_buf *out, const char *s, size_t n);

#endif
