/* The C API through the installed package. */
#include <echoflow/echoflow.h>
#include <stdio.h>

int main(void) {
  ef_table* t = NULL;
  if (ef_table_create(&t) != EF_OK) return 1;
  if (ef_table_add_numeric(t, "x", NULL, 5, EF_CONTINUOUS) != EF_ERROR_NULL_ARG) return 1;
  printf("consumer_c: %s; expected error: %s\n", ef_version(), ef_last_error());
  ef_table_free(t);
  return 0;
}
