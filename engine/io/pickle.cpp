#include "engine/io/pickle.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "engine/check.h"

namespace sn::io::pickle {

std::string Value::describe() const {
  switch (kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return b ? "True" : "False";
    case Kind::Int:
      return "int " + std::to_string(i);
    case Kind::Float:
      return "float " + std::to_string(f);
    case Kind::String:
      return "string '" + str + "'";
    case Kind::Tuple:
      return "tuple of " + std::to_string(items.size());
    case Kind::List:
      return "list of " + std::to_string(items.size());
    case Kind::Dict:
      return "dict of " + std::to_string(dict.size());
    case Kind::Global:
      return "global " + str;
    case Kind::Object:
      return str;
  }
  return "?";
}

static ValuePtr make(Value::Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}
ValuePtr make_int(int64_t x) {
  auto v = make(Value::Kind::Int);
  v->i = x;
  return v;
}
ValuePtr make_string(std::string s) {
  auto v = make(Value::Kind::String);
  v->str = std::move(s);
  return v;
}
ValuePtr make_object(std::string type, std::any object) {
  auto v = make(Value::Kind::Object);
  v->str = std::move(type);
  v->object = std::move(object);
  return v;
}

namespace {

// Opcode bytes, as in CPython's Lib/pickle.py.
enum Op : uint8_t {
  MARK = '(',
  STOP = '.',
  POP = '0',
  BININT = 'J',
  BININT1 = 'K',
  BININT2 = 'M',
  NONE = 'N',
  BINPERSID = 'Q',
  REDUCE = 'R',
  BINUNICODE = 'X',
  APPEND = 'a',
  BUILD = 'b',
  GLOBAL = 'c',
  APPENDS = 'e',
  BINGET = 'h',
  LONG_BINGET = 'j',
  EMPTY_LIST = ']',
  BINPUT = 'q',
  LONG_BINPUT = 'r',
  SETITEM = 's',
  TUPLE = 't',
  SETITEMS = 'u',
  EMPTY_DICT = '}',
  EMPTY_TUPLE = ')',
  BINFLOAT = 'G',
  PROTO = 0x80,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  SHORT_BINUNICODE = 0x8c,
  STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94,
  FRAME = 0x95,
};

class Machine {
 public:
  Machine(const uint8_t* bytes, size_t size, const Environment& env, const std::string& where)
      : p_(bytes), size_(size), env_(env), where_(where) {}

  ValuePtr run() {
    while (true) {
      const size_t at = pos_;
      const uint8_t op = take(1)[0];
      op_pos_ = at;
      switch (op) {
        case PROTO: {
          const int proto = take(1)[0];
          check(proto >= 2 && proto <= 5, "unsupported pickle protocol ", proto);
          break;
        }
        case FRAME:
          take(8);
          break;  // framing is a hint for buffered readers; the bytes follow inline
        case STOP: {
          check(stack_.size() == 1 && marks_.empty(), "STOP with ", stack_.size(), " values on the stack");
          return stack_.back();
        }
        case MARK:
          marks_.push_back(stack_.size());
          break;
        case POP:
          pop();
          break;
        case NONE:
          push(make(Value::Kind::None));
          break;
        case NEWTRUE:
        case NEWFALSE: {
          auto v = make(Value::Kind::Bool);
          v->b = op == NEWTRUE;
          push(v);
          break;
        }
        case BININT:
          push(make_int(static_cast<int32_t>(le(take(4), 4))));
          break;
        case BININT1:
          push(make_int(take(1)[0]));
          break;
        case BININT2:
          push(make_int(static_cast<int64_t>(le(take(2), 2))));
          break;
        case LONG1: {
          const int n = take(1)[0];
          check(n <= 8, "LONG1 integer of ", n, " bytes is too large");
          uint64_t u = n ? le(take(n), n) : 0;
          if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~uint64_t(0) << (8 * n);  // sign-extend
          push(make_int(static_cast<int64_t>(u)));
          break;
        }
        case BINFLOAT: {  // big-endian IEEE double
          const uint8_t* b = take(8);
          uint64_t u = 0;
          for (int k = 0; k < 8; ++k) u = (u << 8) | b[k];
          auto v = make(Value::Kind::Float);
          std::memcpy(&v->f, &u, 8);
          push(v);
          break;
        }
        case BINUNICODE:
          push(string(le(take(4), 4)));
          break;
        case SHORT_BINUNICODE:
          push(string(take(1)[0]));
          break;
        case EMPTY_TUPLE:
          push(make(Value::Kind::Tuple));
          break;
        case TUPLE:
          push(container(Value::Kind::Tuple, pop_mark()));
          break;
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
          const size_t n = op - TUPLE1 + 1;
          check(stack_.size() >= n + (marks_.empty() ? 0 : marks_.back()), "TUPLE", n, " on a short stack");
          std::vector<ValuePtr> items(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push(container(Value::Kind::Tuple, std::move(items)));
          break;
        }
        case EMPTY_LIST:
          push(make(Value::Kind::List));
          break;
        case APPEND: {
          ValuePtr x = pop();
          append(top(), {x});
          break;
        }
        case APPENDS: {
          auto xs = pop_mark();
          append(top(), xs);
          break;
        }
        case EMPTY_DICT:
          push(make(Value::Kind::Dict));
          break;
        case SETITEM: {
          ValuePtr v = pop(), k = pop();
          set_items(top(), {k, v});
          break;
        }
        case SETITEMS: {
          auto kv = pop_mark();
          check(kv.size() % 2 == 0, "SETITEMS with an odd number of values");
          set_items(top(), kv);
          break;
        }
        case GLOBAL: {
          std::string module = line(), name = line();
          push(global(module + "." + name));
          break;
        }
        case STACK_GLOBAL: {
          ValuePtr name = pop(), module = pop();
          check(name->kind == Value::Kind::String && module->kind == Value::Kind::String,
                "STACK_GLOBAL needs two strings");
          push(global(module->str + "." + name->str));
          break;
        }
        case REDUCE: {
          ValuePtr args = pop(), fn = pop();
          check(fn->kind == Value::Kind::Global, "REDUCE on a ", fn->describe(), ", not a global");
          check(args->kind == Value::Kind::Tuple, "REDUCE arguments are a ", args->describe(), ", not a tuple");
          auto it = env_.functions.find(fn->str);
          check(it != env_.functions.end(), "global ", fn->str, " may appear in the file but not be called");
          ValuePtr out;
          try {
            out = it->second(args->items);
          } catch (const Error& e) {
            fail("in ", fn->str, ": ", e.what());
          }
          push(out);
          break;
        }
        case BUILD: {
          // BUILD sets an object's attributes. In a state_dict the only case is
          // the OrderedDict's `_metadata` (module versions), which we drop.
          ValuePtr state = pop();
          check(top()->kind == Value::Kind::Dict &&
                    (state->kind == Value::Kind::Dict || state->kind == Value::Kind::None),
                "BUILD is only accepted on a dict (OrderedDict metadata), got ", top()->describe());
          break;
        }
        case BINPERSID: {
          check(bool(env_.persistent_load), "persistent id without a loader");
          ValuePtr pid = pop(), out;
          try {
            out = env_.persistent_load(pid);
          } catch (const Error& e) {
            fail("in a persistent id: ", e.what());
          }
          push(out);
          break;
        }
        case BINPUT:
          memo_put(take(1)[0]);
          break;
        case LONG_BINPUT:
          memo_put(le(take(4), 4));
          break;
        case MEMOIZE:
          memo_put(memo_.size());
          break;
        case BINGET:
          memo_get(take(1)[0]);
          break;
        case LONG_BINGET:
          memo_get(le(take(4), 4));
          break;
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail("unsupported pickle opcode ", hex,
               (op >= 32 && op < 127 ? std::string(" ('") + char(op) + "')" : std::string()),
               ": scratchnet reads plain state_dicts only");
        }
      }
    }
  }

 private:
  template <typename... A>
  [[noreturn]] void fail(const A&... a) const {
    SN_USER_FAIL(where_, ": ", detail::concat(a...), " (at byte ", op_pos_, ")");
  }
  template <typename... A>
  void check(bool ok, const A&... a) const {
    if (!ok) fail(a...);
  }

  const uint8_t* take(size_t n) {
    check(n <= size_ - pos_, "truncated pickle (needs ", n, " more bytes, ", size_ - pos_, " left)");
    const uint8_t* b = p_ + pos_;
    pos_ += n;
    return b;
  }
  static uint64_t le(const uint8_t* b, int n) {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | b[k];
    return v;
  }
  std::string line() {
    const uint8_t* start = p_ + pos_;
    const void* nl = std::memchr(start, '\n', size_ - pos_);
    check(nl != nullptr, "truncated pickle (a GLOBAL name without its newline)");
    const size_t n = static_cast<const uint8_t*>(nl) - start;
    check(n <= 256, "GLOBAL name too long");
    take(n + 1);
    return std::string(reinterpret_cast<const char*>(start), n);
  }
  ValuePtr string(uint64_t n) {
    const uint8_t* b = take(n);  // checks the length against the bytes left before allocating
    return make_string(std::string(reinterpret_cast<const char*>(b), n));
  }

  ValuePtr global(const std::string& name) {
    // Never import anything: a name outside the whitelist ends the load here.
    check(env_.functions.count(name) || env_.names.count(name), "forbidden global '", name,
          "': scratchnet reads plain state_dicts (tensors in an OrderedDict) and never executes pickled code");
    auto v = make(Value::Kind::Global);
    v->str = name;
    return v;
  }

  void push(ValuePtr v) {
    check(stack_.size() < kMaxStack, "pickle stack too deep");
    stack_.push_back(std::move(v));
  }
  ValuePtr pop() {
    check(stack_.size() > (marks_.empty() ? 0 : marks_.back()), "pop from an empty stack");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    check(stack_.size() > (marks_.empty() ? 0 : marks_.back()), "empty stack");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    check(!marks_.empty(), "no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  // The depth of the deepest item; seals the items (they are now inside a container).
  int seal(const std::vector<ValuePtr>& items) const {
    int d = 0;
    for (auto& x : items) {
      d = std::max(d, x->depth);
      x->sealed = true;
    }
    return d;
  }
  void check_mutable(const ValuePtr& target, const std::vector<ValuePtr>& items) const {
    check(!target->sealed, "a ", target->describe(), " is modified after being placed in another value");
    for (auto& x : items) check(x != target, "a ", target->describe(), " would contain itself");
  }
  ValuePtr container(Value::Kind k, std::vector<ValuePtr> items) {
    auto v = make(k);
    v->depth = seal(items) + 1;
    check(v->depth <= kMaxDepth, "values nested deeper than ", kMaxDepth);
    v->items = std::move(items);
    return v;
  }
  void append(ValuePtr& list, const std::vector<ValuePtr>& xs) {
    check(list->kind == Value::Kind::List, "APPEND to a ", list->describe());
    check_mutable(list, xs);
    list->depth = std::max(list->depth, seal(xs) + 1);
    check(list->depth <= kMaxDepth, "values nested deeper than ", kMaxDepth);
    list->items.insert(list->items.end(), xs.begin(), xs.end());
  }
  void set_items(ValuePtr& dict, const std::vector<ValuePtr>& kv) {
    check(dict->kind == Value::Kind::Dict, "SETITEM on a ", dict->describe());
    check_mutable(dict, kv);
    dict->depth = std::max(dict->depth, seal(kv) + 1);
    check(dict->depth <= kMaxDepth, "values nested deeper than ", kMaxDepth);
    for (size_t k = 0; k < kv.size(); k += 2) dict->dict.emplace_back(kv[k], kv[k + 1]);
  }
  void memo_put(uint64_t key) {
    check(memo_.size() < kMaxMemo || memo_.count(key), "too many memo entries");
    memo_[key] = top();
  }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    check(it != memo_.end(), "memo key ", key, " read before it was written");
    push(it->second);
  }

  const uint8_t* p_;
  size_t size_, pos_ = 0, op_pos_ = 0;
  const Environment& env_;
  std::string where_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
};

}  // namespace

ValuePtr unpickle(const uint8_t* bytes, size_t size, const Environment& env, const std::string& where) {
  return Machine(bytes, size, env, where).run();
}

}  // namespace sn::io::pickle
