// Text a table can hold: what its CSV copy can hold. The CSV reader refuses NUL bytes (no UTF-8
// text file has one; host/csv.cpp), so an in-memory table whose column name, label or missing
// token has one would train a model whose rows, written out, no longer read back. Refused where
// a table comes from memory: Model::fit and the Python package's table builder (the C API's
// strings are NUL-terminated and cannot hold one).
#pragma once
#include <echoflow/echoflow.hpp>

namespace ef {

// Throws an ef::Error naming `source`, the column and the (1-based) row of the first NUL byte.
void check_text_cells(const echoflow::Column& c, const std::string& source);

}  // namespace ef
