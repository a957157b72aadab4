// The progress lines of training, shared by `eftrain train` and the Python package's verbose fit
// so both print the same text.
#pragma once
#include <string>

#include "trainer.hpp"

namespace ef {

// "1:02:03": seconds as hours:minutes:seconds (negative or non-finite: 0:00:00).
std::string hms(double seconds);
// One epoch: "epoch  3/50  train NLL   -1.2345  val NLL   -1.2000 *    123456 rows/s  ETA 0:00:12"
// ('*' marks a new best validation loss), with a trailing newline.
std::string progress_line(const EpochReport& r);
// The end of training: "12 epochs in 3.4 s (early stop); best epoch 7 (val NLL -1.2000)".
std::string training_summary(const TrainResult& t);

}  // namespace ef
