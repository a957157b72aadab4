/* EchoFlow C API: for C, Fortran, Julia, Rust FFI and other languages.
 *
 * Opaque handles (ef_table, ef_model), status codes, and a per-thread message for the last
 * failure (ef_last_error). No C++ exception crosses this interface. Strings are UTF-8 and are
 * copied on input; strings returned by the library stay valid until the handle is freed (or, for
 * ef_last_error, until the next failing call on the same thread).
 *
 * Thread safety: distinct handles may be used from different threads freely; one model may be
 * scored and sampled from several threads at once (calls serialize on an internal lock); a table
 * must not be modified while another thread reads it.
 */
#ifndef ECHOFLOW_H
#define ECHOFLOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ef_table ef_table;
typedef struct ef_model ef_model;

typedef enum {
  EF_OK = 0,
  EF_ERROR = 1,          /* bad input, bad file, bad options: see ef_last_error() */
  EF_ERROR_NULL_ARG = 2, /* a required pointer argument was NULL */
  EF_ERROR_INTERNAL = 3  /* out of memory or an unexpected failure */
} ef_status;

typedef enum { EF_CONTINUOUS = 0, EF_INTEGER = 1, EF_CATEGORICAL = 2 } ef_column_type;

const char* ef_version(void);
/* Message of the last failing call on this thread ("" if none). */
const char* ef_last_error(void);

/* Tables: build from memory or read a CSV (.csv or .csv.gz; types inferred). */
ef_status ef_table_create(ef_table** out);
void ef_table_free(ef_table* t);
/* values: n doubles, NaN = missing. type: EF_CONTINUOUS or EF_INTEGER. */
ef_status ef_table_add_numeric(ef_table* t, const char* name, const double* values, size_t n,
                               ef_column_type type);
/* labels: n UTF-8 strings, NULL = missing. */
ef_status ef_table_add_categorical(ef_table* t, const char* name, const char* const* labels,
                                   size_t n);
ef_status ef_table_read_csv(const char* path, ef_table** out);
ef_status ef_table_write_csv(const ef_table* t, const char* path);
size_t ef_table_rows(const ef_table* t);
size_t ef_table_columns(const ef_table* t);
const char* ef_table_column_name(const ef_table* t, size_t column);
ef_column_type ef_table_column_type(const ef_table* t, size_t column);
/* Numeric column -> n doubles (NaN = missing). */
ef_status ef_table_get_numeric(const ef_table* t, size_t column, double* out);
/* Categorical cell -> label, or NULL when missing or out of range. */
const char* ef_table_get_label(const ef_table* t, size_t column, size_t row);

/* options_json: an eftrain config without the file parts (data.path, data.header, output), read by
 * the same parser with the same keys, defaults and checks (`eftrain config` lists them):
 * "model", "train", "conditional", "device", "data" (columns, missing, categorical_max_levels),
 * all optional; a top-level "columns" is short for data.columns. NULL = defaults. */
ef_status ef_model_fit(const ef_table* data, const char* options_json, ef_model** out);
ef_status ef_model_load(const char* path, ef_model** out);
ef_status ef_model_save(const ef_model* m, const char* path);
void ef_model_free(ef_model* m);
/* out: ef_table_rows(t) natural-log values (-INFINITY outside the support). */
ef_status ef_model_score(const ef_model* m, const ef_table* t, double* out);
/* n rows; given: n_given (column, value) pairs fixing conditional columns (may be 0/NULL). */
ef_status ef_model_sample(const ef_model* m, size_t n, const char* const* given_columns,
                          const char* const* given_values, size_t n_given, uint64_t seed,
                          ef_table** out);

#ifdef __cplusplus
}
#endif
#endif /* ECHOFLOW_H */
