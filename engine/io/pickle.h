// pickle.h — a restricted unpickler: builds values, never runs code.
//
// Python's pickle is a small stack machine whose GLOBAL + REDUCE opcodes call
// any importable function: unpickling an untrusted file with Python can run
// os.system. This VM knows only the opcodes a PyTorch state_dict uses and
// refers to Python names only through an explicit whitelist: a GLOBAL that is
// not in it stops the load with an error naming the global; REDUCE can only
// call the C++ functions registered for whitelisted names. There is no
// recursion (the machine is a loop over the bytes), and memo, stack and
// nesting depth are bounded.
//
// Supported opcodes (protocols 2-4): PROTO FRAME STOP MARK POP NONE NEWTRUE
// NEWFALSE BININT BININT1 BININT2 LONG1 BINFLOAT BINUNICODE SHORT_BINUNICODE
// EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST APPEND APPENDS EMPTY_DICT
// SETITEM SETITEMS GLOBAL STACK_GLOBAL REDUCE BUILD BINPERSID BINPUT
// LONG_BINPUT MEMOIZE BINGET LONG_BINGET. Anything else is an error.
#pragma once
#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sn::io::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Object };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string str;                                  // String; Global: "module.name"; Object: its type
  std::vector<ValuePtr> items;                      // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> dict;  // Dict, in insertion order (like OrderedDict)
  std::any object;                                  // Object: what a registered function returned
  int depth = 1;                                    // nesting depth (bounded: see kMaxDepth)
  bool sealed = false;                              // placed inside another value: no longer mutable

  std::string describe() const;  // "int 3", "tuple of 2", "global torch.FloatStorage", for messages
};

ValuePtr make_int(int64_t v);
ValuePtr make_string(std::string s);
ValuePtr make_object(std::string type, std::any object);

// What the unpickler may touch.
struct Environment {
  using Function = std::function<ValuePtr(const std::vector<ValuePtr>& args)>;
  // Whitelisted globals that REDUCE may call, e.g. "collections.OrderedDict".
  std::map<std::string, Function> functions;
  // Whitelisted globals that may only appear as values (e.g. "torch.FloatStorage" inside a persistent id).
  std::set<std::string> names;
  // BINPERSID: turns a persistent id (PyTorch: a tuple naming a storage) into a value.
  std::function<ValuePtr(const ValuePtr& pid)> persistent_load;
};

constexpr int kMaxDepth = 64;          // nesting of tuples/lists/dicts
constexpr size_t kMaxStack = 1 << 20;  // values on the stack
constexpr size_t kMaxMemo = 1 << 22;   // memo entries

// Runs the pickle in bytes[0, size) and returns the value left by STOP.
// `where` names the source in error messages, e.g. "model.pth: archive/data.pkl".
ValuePtr unpickle(const uint8_t* bytes, size_t size, const Environment& env, const std::string& where);

}  // namespace sn::io::pickle
