using System.Text.Json.Serialization;

namespace Acp.GptOss.Inference;

/// <summary>What the engines report as they load models and generate: for logs, and for clients that opt in.</summary>
/// <param name="Model">The model's role; on the wire, its wire name.</param>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(LoadStageEvent), "load")]
[JsonDerivedType(typeof(InferenceEvent), "inference")]
internal abstract record TelemetryEvent([property: JsonConverter(typeof(ModelRoleJsonConverter))] ModelRole Model);
