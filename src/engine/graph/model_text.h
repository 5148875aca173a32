// The model text a person writes (`--model`, a plan's workload.model) and the networks it
// stands for; the one grammar the trainer, plan validation, the workload builder and the help
// texts share:
//   mlp:H1[,H2…]             Flatten → (Dense(Hi) → ReLU [→ Dropout])… → Dense(classes)
//   cnn:F1[,F2…][/H1[,H2…]]  per Fi one block Conv2D(Fi, 3×3, stride 1, same, no bias) →
//                            BatchNorm → ReLU → MaxPool2D(2×2, stride 2); then GlobalAvgPool
//                            → (Dense(Hi) → ReLU [→ Dropout])… → Dense(classes). Without
//                            "/…" the head is one Dense of kDefaultHead units.
// The widths H are the study's "neurons"; the filters F are a plan's "filters" factor.
// Dropout (--dropout) follows each hidden Dense's ReLU when its rate is above 0.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph/network.h"

namespace gt::engine::graph {

constexpr int kDefaultHead = 128;

struct ModelText {
  std::string family;        // "mlp" or "cnn"
  std::vector<int> filters;  // cnn: one convolution block per entry
  std::vector<int> neurons;  // hidden Dense widths (mlp) or the dense head (cnn)
};

// Parses a model text; throws gt::UsageError "unknown model spec 'TEXT': why (expected …)".
ModelText parse_model_text(std::string_view text);
// The canonical text: "mlp:512,256", "cnn:32,64,128/128" (the head always written).
std::string to_string(const ModelText& model);
// "512,256": comma-separated widths, as the runs table's neurons and filters columns write them.
std::string widths_string(const std::vector<int>& widths);
// Parses "512,256" (positive integers, at most 2^20 each); throws gt::UsageError with
// "'TEXT' …" and what was expected, naming `what` ("neurons", "filters").
std::vector<int> parse_widths(std::string_view text, const std::string& what);

// The network of `model` on samples of shape `input` with `classes` outputs; throws
// gt::UsageError when it cannot run on that shape (a cnn on flat features, more pooling
// blocks than the image allows) or the dropout rate is outside [0, 1).
Network build_network(const ModelText& model, const Shape& input, int classes, float dropout);
Network parse_network(std::string_view text, const Shape& input, int classes, float dropout = 0);

// "mlp:H1[,H2…] or cnn:F1[,F2…][/H1[,H2…]]", for help texts and messages.
std::string model_grammar();

}  // namespace gt::engine::graph
