using System.Text.Json.Serialization;

namespace Acp.Protocol.Tests;

internal sealed record EchoParams(string Text);

internal sealed record EchoResult(string Text);

internal sealed record Empty;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(EchoParams))]
[JsonSerializable(typeof(EchoResult))]
[JsonSerializable(typeof(Empty))]
internal sealed partial class TestJsonContext : JsonSerializerContext;
