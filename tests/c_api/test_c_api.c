/* The C API, from C: build a table in memory, fit, score, sample (plain and conditional), save,
 * load, read/write CSV, and the error paths (status codes and messages, nothing thrown). */
#include <echoflow/echoflow.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) {                                                              \
      fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__,   \
              __LINE__, #cond, ef_last_error());                                \
      ++failures;                                                               \
    }                                                                           \
  } while (0)

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : ".";
  enum { N = 2000 };
  static double x[N], k[N];
  static const char* g[N];
  unsigned s = 12345;
  for (int i = 0; i < N; ++i) {
    s = s * 1103515245u + 12345u;
    const int grp = (s >> 16) % 3;
    g[i] = grp == 0 ? "red" : grp == 1 ? "green" : (i % 50 == 0 ? NULL : "blue"); /* some missing */
    s = s * 1103515245u + 12345u;
    x[i] = grp * 2.0 + ((s >> 16) % 1000) / 1000.0;
    k[i] = (double)((i * 7) % 13);
  }
  CHECK(strstr(ef_version(), "echoflow") != NULL);

  ef_table* t = NULL;
  CHECK(ef_table_create(&t) == EF_OK);
  CHECK(ef_table_add_categorical(t, "color", g, N) == EF_OK);
  CHECK(ef_table_add_numeric(t, "x", x, N, EF_CONTINUOUS) == EF_OK);
  CHECK(ef_table_add_numeric(t, "k", k, N, EF_INTEGER) == EF_OK);
  CHECK(ef_table_rows(t) == N && ef_table_columns(t) == 3);
  /* Errors: duplicate column, wrong length, NULL arguments: status + message, no abort. */
  CHECK(ef_table_add_numeric(t, "x", x, N, EF_CONTINUOUS) == EF_ERROR);
  CHECK(strstr(ef_last_error(), "duplicate column name") != NULL);
  CHECK(ef_table_add_numeric(t, "short", x, 5, EF_CONTINUOUS) == EF_ERROR);
  CHECK(ef_table_add_numeric(NULL, "y", x, N, EF_CONTINUOUS) == EF_ERROR_NULL_ARG);

  ef_model* m = NULL;
  CHECK(ef_model_fit(t, "{\"model\": {\"flow\": \"maf\", \"layers\": 2, \"hidden\": [16]},"
                        " \"train\": {\"epochs\": 3, \"threads\": 1}, \"conditional\": [\"color\"]}",
                     &m) == EF_OK);
  CHECK(ef_model_fit(t, "{\"train\": {\"epochs\": 0}}", &m) == EF_ERROR);
  CHECK(strstr(ef_last_error(), "train.epochs must be in [1, ") != NULL);
  /* The same parser, key table and checks as eftrain. */
  ef_model* rejected = NULL;
  CHECK(ef_model_fit(t, "{\"train\": {\"learning_rate\": 0}}", &rejected) == EF_ERROR);
  CHECK(strstr(ef_last_error(), "train.learning_rate must be in (0, 10)") != NULL);
  CHECK(ef_model_fit(t, "{\"model\": {\"bins\": 65}}", &rejected) == EF_ERROR);
  CHECK(strstr(ef_last_error(), "model.bins must be in [2, 64]") != NULL);
  CHECK(ef_model_fit(t, "{\"data\": {\"path\": \"x.csv\"}}", &rejected) == EF_ERROR);
  CHECK(strstr(ef_last_error(), "data.path does not apply") != NULL);
  CHECK(ef_model_fit(t, "{\"data\": {\"columns\": {\"x\": {\"mn\": 0}}}}", &rejected) == EF_ERROR);
  CHECK(strstr(ef_last_error(), "unknown key \"data.columns.x.mn\"") != NULL);
  CHECK(rejected == NULL);
  CHECK(ef_model_fit(t, "{not json", &m) == EF_ERROR);

  double* lp = malloc(sizeof(double) * N);
  CHECK(ef_model_score(m, t, lp) == EF_OK);
  int finite = 1;
  for (int i = 0; i < N; ++i) finite &= isfinite(lp[i]) != 0;
  CHECK(finite);

  const char* cols[] = {"color"};
  const char* vals[] = {"green"};
  ef_table* smp = NULL;
  CHECK(ef_model_sample(m, 500, cols, vals, 1, 7, &smp) == EF_OK);
  CHECK(ef_table_rows(smp) == 500);
  CHECK(strcmp(ef_table_column_name(smp, 0), "color") == 0);
  CHECK(ef_table_column_type(smp, 2) == EF_INTEGER);
  int all_green = 1;
  for (int i = 0; i < 500; ++i) all_green &= ef_table_get_label(smp, 0, i) && strcmp(ef_table_get_label(smp, 0, i), "green") == 0;
  CHECK(all_green);
  double* xs = malloc(sizeof(double) * 500);
  CHECK(ef_table_get_numeric(smp, 1, xs) == EF_OK);
  CHECK(ef_table_get_numeric(smp, 0, xs) == EF_ERROR); /* categorical */
  const char* bad[] = {"purple"};
  ef_table* none = NULL;
  CHECK(ef_model_sample(m, 5, cols, bad, 1, 7, &none) == EF_ERROR);
  CHECK(strstr(ef_last_error(), "not seen in training") != NULL);

  /* Save, load: identical scores; CSV round trip. */
  char path[1024], csv[1024];
  snprintf(path, sizeof path, "%s/c_api_model.efm", dir);
  snprintf(csv, sizeof csv, "%s/c_api_sample.csv", dir);
  CHECK(ef_model_save(m, path) == EF_OK);
  ef_model* m2 = NULL;
  CHECK(ef_model_load(path, &m2) == EF_OK);
  double* lp2 = malloc(sizeof(double) * N);
  CHECK(ef_model_score(m2, t, lp2) == EF_OK);
  CHECK(memcmp(lp, lp2, sizeof(double) * N) == 0);
  CHECK(ef_model_load("/nonexistent/model.efm", &m2) == EF_ERROR);
  CHECK(ef_table_write_csv(smp, csv) == EF_OK);
  ef_table* back = NULL;
  CHECK(ef_table_read_csv(csv, &back) == EF_OK);
  CHECK(ef_table_rows(back) == 500);
  remove(path);
  remove(csv);

  ef_table_free(back);
  ef_table_free(smp);
  ef_table_free(t);
  ef_model_free(m);
  ef_model_free(m2);
  free(lp);
  free(lp2);
  free(xs);
  if (failures) {
    fprintf(stderr, "%d C API check(s) failed\n", failures);
    return 1;
  }
  printf("C API: OK\n");
  return 0;
}
