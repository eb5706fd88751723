// classify WEIGHTS.snw PHOTO: the most probable class of one photo, with scratchnet as a library.
#include <cstdio>

#include "engine/autograd.h"
#include "engine/data/decode.h"
#include "engine/io/weight_file.h"
#include "engine/ops.h"
#include "models/preprocess.h"
#include "models/resnet.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: classify WEIGHTS.snw PHOTO\n");
    return 2;
  }
  try {
    const sn::io::WeightFile weights(argv[1]);  // a ResNet, its classes and the preprocessing it expects
    auto model = sn::models::load_resnet(weights);
    model->eval();
    sn::Rng unused(0);  // the evaluation transform draws no random numbers
    const sn::Tensor x =
        sn::models::eval_transform(weights.meta().preprocessing)(sn::data::load_image(argv[2]), unused);
    sn::NoGradGuard no_grad;
    const sn::Tensor p = sn::softmax(model->forward(x.view({1, x.size(0), x.size(1), x.size(2)})));
    const int64_t top = sn::argmax(p)[0];
    const auto& labels = weights.meta().labels;
    std::printf("%s: class %lld %s, probability %.4f\n", argv[2], static_cast<long long>(top),
                top < static_cast<int64_t>(labels.size()) ? labels[top].c_str() : "", p.to_vector()[top]);
    return 0;
  } catch (const std::exception& e) {  // errors name the file and the problem
    std::fprintf(stderr, "classify: %s\n", e.what());
    return 1;
  }
}
