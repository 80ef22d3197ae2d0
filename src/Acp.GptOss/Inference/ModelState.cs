using System.Text.Json.Serialization;

namespace Acp.GptOss.Inference;

/// <summary>Where a model is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelState>))]
internal enum ModelState
{
    [JsonStringEnumMemberName("notLoaded")]
    NotLoaded,

    [JsonStringEnumMemberName("loading")]
    Loading,

    [JsonStringEnumMemberName("ready")]
    Ready,

    [JsonStringEnumMemberName("error")]
    Error,
}
