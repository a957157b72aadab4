// Numbers as CSV text: the writer's hot loop.
#pragma once

namespace ef {

// The shortest text that reads back to v, byte for byte what std::to_chars(out, out + 32, v)
// writes (the plain overload: %f or %e style, whichever is shorter, %f on a tie; exponents of at
// least two digits), in about half its time: {fmt}'s Dragonbox finds the digits. `out` needs 48
// bytes (the text is at most 24; the rest is room for fixed-size copies); returns the end of the text.
char* format_double(char* out, double v);

}  // namespace ef
