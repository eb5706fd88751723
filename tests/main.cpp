// The Catch2 entry point of the whole suite (one executable, one TEST_CASE per CTest test).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
