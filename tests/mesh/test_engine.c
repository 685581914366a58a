#include "testlib.h"
int main(void) { CHECK(1); return testlib_done("test_engine"); }
