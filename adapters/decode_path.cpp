#include "adapters/decode_path.h"

#include <stdexcept>

#include "adapters/codecs/csv_line.h"
#include "adapters/codecs/json_sample.h"
#include "adapters/codecs/native_frame.h"
#include "adapters/codecs/witmotion.h"

namespace primus::adapters {

std::unique_ptr<codecs::Decoder> make_decoder(const DeviceConfig& dev, codecs::Sync start) {
  switch (dev.codec) {
    case CodecKind::kNative:
      return std::make_unique<codecs::NativeDecoder>(start);
    case CodecKind::kCsv: {
      codecs::CsvOptions opt;
      opt.separator = dev.csv_separator.empty() ? ',' : dev.csv_separator[0];
      for (const auto& n : dev.csv_columns) {
        codecs::CsvColumn c{};
        if (!codecs::parse_csv_column(n, c))
          throw std::invalid_argument("unknown csv column \"" + n + "\"");
        opt.columns.push_back(c);
      }
      return std::make_unique<codecs::CsvLineDecoder>(std::move(opt), start);
    }
    case CodecKind::kWitmotion:
      return std::make_unique<codecs::WitmotionDecoder>();
    case CodecKind::kJson: {
      codecs::JsonOptions opt;
      opt.rename(dev.json_fields);
      return std::make_unique<codecs::JsonSampleDecoder>(std::move(opt));
    }
    case CodecKind::kNone:
      break;
  }
  throw std::invalid_argument(std::string("adapter ") + to_string(dev.adapter) + " needs a codec");
}

DecodePath::DecodePath(const DeviceConfig& dev, std::uint32_t index, codecs::Sync start)
    : decoder_(make_decoder(dev, start)), index_(index), want_id_(dev.device_id) {}

void DecodePath::fill(SourceStats& st) const noexcept {
  const auto& c = decoder_->counters();
  st.drops = c.dropped;
  st.drops[static_cast<std::size_t>(codecs::DropReason::kUnknownDevice)] += unknown_device_;
  st.garbage_bytes = c.garbage_bytes;
  st.decode_errors = 0;
  for (auto d : st.drops) st.decode_errors += d;
}

}  // namespace primus::adapters
