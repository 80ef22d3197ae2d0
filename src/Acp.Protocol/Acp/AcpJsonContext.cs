using System.Text.Json.Serialization;

namespace Acp.Protocol;

/// <summary>
/// The source-generated serializers of every ACP message: camelCase, nulls left out, required and non-nullable
/// members enforced when reading (a missing <c>cwd</c> is an error, not an empty string).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(InitializeRequest))]
[JsonSerializable(typeof(InitializeResponse))]
[JsonSerializable(typeof(NewSessionRequest))]
[JsonSerializable(typeof(NewSessionResponse))]
[JsonSerializable(typeof(ListSessionsRequest))]
[JsonSerializable(typeof(ListSessionsResponse))]
[JsonSerializable(typeof(LoadSessionRequest))]
[JsonSerializable(typeof(LoadSessionResponse))]
[JsonSerializable(typeof(ResumeSessionRequest))]
[JsonSerializable(typeof(ResumeSessionResponse))]
[JsonSerializable(typeof(CloseSessionRequest))]
[JsonSerializable(typeof(CloseSessionResponse))]
[JsonSerializable(typeof(DeleteSessionRequest))]
[JsonSerializable(typeof(DeleteSessionResponse))]
[JsonSerializable(typeof(PromptRequest))]
[JsonSerializable(typeof(PromptResponse))]
[JsonSerializable(typeof(CancelNotification))]
[JsonSerializable(typeof(SetSessionConfigOptionRequest))]
[JsonSerializable(typeof(SetSessionConfigOptionResponse))]
[JsonSerializable(typeof(SessionNotification))]
[JsonSerializable(typeof(CompactionUpdate))]
[JsonSerializable(typeof(SessionErrorData))]
[JsonSerializable(typeof(SetSessionModeRequest))]
[JsonSerializable(typeof(SetSessionModeResponse))]
[JsonSerializable(typeof(RequestPermissionRequest))]
[JsonSerializable(typeof(RequestPermissionResponse))]
[JsonSerializable(typeof(ReadTextFileRequest))]
[JsonSerializable(typeof(ReadTextFileResponse))]
[JsonSerializable(typeof(WriteTextFileRequest))]
[JsonSerializable(typeof(WriteTextFileResponse))]
[JsonSerializable(typeof(CreateTerminalRequest))]
[JsonSerializable(typeof(CreateTerminalResponse))]
[JsonSerializable(typeof(TerminalRequest))]
[JsonSerializable(typeof(TerminalOutputResponse))]
[JsonSerializable(typeof(TerminalExitStatus))]
[JsonSerializable(typeof(TerminalEmptyResponse))]
[JsonSerializable(typeof(System.Text.Json.JsonElement))]
public sealed partial class AcpJsonContext : JsonSerializerContext;
